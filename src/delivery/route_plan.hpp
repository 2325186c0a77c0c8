// Where remote mail for a domain goes: the MX answer turned into an ordered
// list of hosts to try (RFC 5321 section 5.1, RFC 7505 null MX), and the
// `delivery.smarthost` / "host:port" syntax. Pure: no DNS, no sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/limits.hpp"

#include "delivery/dns_types.hpp"
#include "util/result.hpp"

namespace volley::delivery {

struct RoutePlan {
  enum class Kind {
    Hosts,         // try `hosts` in order
    NullMx,        // the domain accepts no mail (RFC 7505): bounce at once
    NoSuchDomain,  // NXDOMAIN: bounce at once
    TempFail,      // the lookup failed: defer
  };
  Kind kind = Kind::TempFail;
  std::vector<std::string> hosts;  // in the order to try; lowercased, no trailing dot
  bool implicit = false;           // no MX records: the domain itself is the only host (RFC 5321 5.1)
  std::string detail;              // for logs and DSNs
};

// Upper bound on the hosts kept from one MX answer: a domain listing hundreds
// of MX hosts must not make one delivery attempt walk them all.
inline constexpr size_t kDefaultMaxMxHosts = limits::kMaxMxHosts;

// Turns an MX answer for `domain` into a plan:
//   Ok        -> hosts by ascending preference, equal preferences shuffled
//                with `rng` (load spreading, RFC 5321 5.1), duplicates
//                removed (the first, most preferred, kept), at most
//                `max_hosts`. MX records naming "." are unusable and
//                dropped; when nothing else is left (a lone "0 .") -> NullMx.
//   NoRecords -> Hosts [domain], implicit = true (an Ok answer without records too).
//   NxDomain  -> NoSuchDomain.
//   TempFail  -> TempFail.
// `domain` may be in any case and end with a dot; hosts come back lowercased without it.
RoutePlan plan_routes(const MxAnswer& answer, std::string_view domain, std::mt19937& rng,
                      size_t max_hosts = kDefaultMaxMxHosts);

// A destination written as text: "host", "host:25", "[host]:25", "[::1]:25", "127.0.0.1:2525".
struct HostPort {
  std::string host;               // brackets removed; domain names lowercased
  uint16_t port = 0;              // default_port when none was written
  bool literal_brackets = false;  // "[...]": the host is used as written, no MX lookup (Postfix's convention)

  // True when the host's MX records should be looked up: a bare domain name.
  // Bracketed hosts and IP addresses are connected to directly.
  bool needs_mx_lookup() const;
};

// Parses `s` as above. The host must be a domain name or an IP address; an
// IPv6 address must be in brackets ("::1:25" would be ambiguous). The port,
// when present, is 1..65535 in at most 5 digits. Nothing else (spaces, empty
// parts, a user@ prefix) is accepted.
Result<HostPort> parse_host_port(std::string_view s, uint16_t default_port);

// True for an IPv4 or IPv6 address without brackets ("192.0.2.1", "::1").
bool is_ip_literal(std::string_view s);

}  // namespace volley::delivery
