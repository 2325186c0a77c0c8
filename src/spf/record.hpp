// An SPF record (RFC 7208 sections 4.5, 4.6, 5, 6, 12): recognising one among
// a name's TXT records, and parsing it into its terms. Pure over bytes: any
// syntax error anywhere is a permerror before anything is evaluated (4.6).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/cidr.hpp"
#include "util/result.hpp"

namespace volley::spf {

enum class Qualifier { Pass, Fail, SoftFail, Neutral };
enum class MechanismKind { All, Include, A, Mx, Ptr, Ip4, Ip6, Exists };

struct Mechanism {
  Qualifier qualifier = Qualifier::Pass;
  MechanismKind kind = MechanismKind::All;
  std::string domain_spec;  // unexpanded; "" = the current domain (a, mx, ptr without ":")
  unsigned cidr4 = 32;      // a, mx, ip4
  unsigned cidr6 = 128;     // a, mx, ip6
  net::IpAddress network;   // ip4, ip6
  std::string text;         // the term as written, for the result's "mechanism"
};

struct Record {
  std::vector<Mechanism> mechanisms;  // in order
  std::optional<std::string> redirect;  // domain-spec
  std::optional<std::string> exp;       // domain-spec (parsed, not evaluated)
};

// "v=spf1" alone or followed by a space, case-insensitively (4.5).
bool is_spf_record(std::string_view txt);

// Parses a record that is_spf_record. Errors (ErrorCode::Invalid) are
// permerrors and say what is wrong.
Result<Record> parse_record(std::string_view text);

// An address matches `network`/`prefix` (same family only).
bool prefix_matches(const net::IpAddress& network, const net::IpAddress& ip, unsigned prefix);

}  // namespace volley::spf
