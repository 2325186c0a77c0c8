#include "net/cidr.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace volley::net {
namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr unsigned kMappedBits = 96;  // bits of ::ffff:0:0/96 before the IPv4 part

bool is_mapped(const std::array<uint8_t, 16>& b) {
  return std::memcmp(b.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0;
}

// True when the first `bits` bits of a and b are equal.
bool same_prefix(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, unsigned bits) {
  const unsigned whole = bits / 8;
  if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

// True when every bit after the first `bits` is zero.
bool host_bits_clear(const std::array<uint8_t, 16>& a, unsigned bits) {
  for (unsigned i = bits; i < 128; ++i)
    if (a[i / 8] & (0x80 >> (i % 8))) return false;
  return true;
}

// Decimal 0..max, no sign, no leading zeros ("/08" is more likely a typo than a prefix).
std::optional<unsigned> parse_prefix(std::string_view s, unsigned max) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  unsigned n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (n > max) return std::nullopt;
  return n;
}

// Bits counted over the 128-bit form; IPv4 prefixes sit behind the mapped prefix.
unsigned bits128(const Cidr& c) { return c.network.is_v4 ? c.prefix_len + kMappedBits : c.prefix_len; }

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; an embedded NUL would truncate it silently.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos)
    return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';

  IpAddress ip;
  in_addr v4{};
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    std::memcpy(ip.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size());
    std::memcpy(ip.bytes.data() + 12, &v4, 4);
    ip.is_v4 = true;
    return ip;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buf, &v6) != 1) return std::nullopt;
  std::memcpy(ip.bytes.data(), &v6, 16);
  // "::ffff:1.2.3.4" is the same host as "1.2.3.4" (a dual-stack socket reports
  // IPv4 peers that way), so it is normalised to IPv4: equal, same to_string().
  ip.is_v4 = is_mapped(ip.bytes);
  return ip;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  const bool ok = is_v4 ? inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf) != nullptr
                        : inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf) != nullptr;
  return ok ? std::string(buf) : std::string();
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const size_t slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;

  // The prefix is read in the family the address was written in: "::ffff:10.0.0.0/104"
  // is a v6 prefix even though the address itself normalises to IPv4.
  const bool written_v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  unsigned bits = written_v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    auto p = parse_prefix(text.substr(slash + 1), bits);
    if (!p) return std::nullopt;
    bits = *p;
  }
  const unsigned total_bits = written_v4 ? bits + kMappedBits : bits;
  if (!host_bits_clear(ip->bytes, total_bits)) return std::nullopt;

  Cidr c;
  c.network = *ip;
  // A v6-written prefix wholly inside ::ffff:0:0/96 becomes the IPv4 prefix it
  // denotes; a shorter one covers more than IPv4 and stays IPv6.
  c.network.is_v4 = total_bits >= kMappedBits && is_mapped(ip->bytes);
  c.prefix_len = c.network.is_v4 ? total_bits - kMappedBits : total_bits;
  return c;
}

bool Cidr::contains(const IpAddress& ip) const {
  // Both sides are 16-byte forms with IPv4 mapped, so one comparison over the
  // 128-bit prefix covers v4-in-v4, v4-mapped v6 peers and plain v6.
  return same_prefix(network.bytes, ip.bytes, bits128(*this));
}

std::string Cidr::to_string() const { return network.to_string() + "/" + std::to_string(prefix_len); }

std::string reverse_dns_name(const IpAddress& ip) {
  std::string out;
  if (ip.is_v4) {
    for (size_t i = 16; i-- > 12;) out += std::to_string(ip.bytes[i]) + ".";
    return out + "in-addr.arpa";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 16; i-- > 0;) out += {kHex[ip.bytes[i] & 15], '.', kHex[ip.bytes[i] >> 4], '.'};
  return out + "ip6.arpa";
}

}  // namespace volley::net
