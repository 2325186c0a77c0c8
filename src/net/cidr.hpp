// IPv4/IPv6 network prefixes ("10.0.0.0/8", "::1/128", "192.0.2.7") for
// relay.allow_networks. Pure; no sockets.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace volley::net {

// An IP address in 16-byte form; IPv4 is stored as IPv4-mapped IPv6
// (::ffff:a.b.c.d) so that one comparison handles both families.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool is_v4 = false;
  static std::optional<IpAddress> parse(std::string_view text);  // "1.2.3.4", "::1", "::ffff:1.2.3.4"
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};

struct Cidr {
  IpAddress network;
  unsigned prefix_len = 0;  // in the address's own family: 0-32 for IPv4, 0-128 for IPv6
  // "a.b.c.d/n", "x::y/n", or a bare address (host prefix). Host bits set
  // below the prefix are an error ("10.0.0.1/8" is refused: likely a typo).
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& ip) const;  // IPv4 matches IPv4-mapped IPv6 and vice versa
  std::string to_string() const;
};

// The name a PTR lookup asks for: "4.3.2.1.in-addr.arpa", or the 32 nibbles
// of an IPv6 address, lowest first, under "ip6.arpa" (RFC 3596 2.5).
std::string reverse_dns_name(const IpAddress& ip);

}  // namespace volley::net
