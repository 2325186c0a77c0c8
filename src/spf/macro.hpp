// SPF macro strings (RFC 7208 section 7): checking their syntax when a record
// is parsed, and expanding them when a term is evaluated. Pure.
#pragma once

#include <string>
#include <string_view>

#include "net/cidr.hpp"
#include "util/result.hpp"

namespace volley::spf {

// What the macro letters expand to. `ip` is "%{i}" already written out
// (dotted quad, or 32 dot-separated nibbles for IPv6).
struct MacroValues {
  std::string sender;         // s: local@domain
  std::string local;          // l
  std::string sender_domain;  // o
  std::string domain;         // d: the domain being checked now
  std::string ip;             // i
  std::string ptr = "unknown";  // p: a validated name of the client, or "unknown"
  std::string ip_version;     // v: "in-addr" or "ip6"
  std::string helo;           // h
  std::string client_ip;      // c (explanations only): the address as usually written
  std::string receiver;       // r (explanations only)
  std::string timestamp;      // t (explanations only)
};

// %{i}: a dotted quad, or the 32 nibbles of an IPv6 address separated by dots.
std::string macro_ip(const net::IpAddress& ip);

// A macro-string is well formed: "%{" letter *DIGIT ["r"] *delimiter "}",
// "%%", "%_", "%-" and printable literals (no space). c, r and t only where
// `explanation`; a digit count of 0 is an error. Invalid (with what is wrong).
Result<void> check_macro_string(std::string_view text, bool explanation);

// A domain-spec: a macro-string ending in a macro or in "." toplabel ["."]
// (RFC 7208 section 7.1).
Result<void> check_domain_spec(std::string_view text);

// Expands `text` (already checked). Uppercase letters are URL-escaped.
// Invalid only if the result would exceed limits::kMaxExpansionBytes.
Result<std::string> expand_macros(std::string_view text, const MacroValues& values);

// An expanded domain-spec as a name to look up: without the trailing dot,
// and cut to 253 bytes by dropping labels from the left (RFC 7208 7.3).
std::string domain_to_query(std::string name);

// True if `name` can be looked up: 1-63 byte labels, none empty.
bool is_valid_lookup_name(std::string_view name);

}  // namespace volley::spf
