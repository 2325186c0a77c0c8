// net::IpAddress and net::Cidr: parsing (v4, v6, v4-mapped), prefix bounds,
// host bits, garbage, and contains() across the two families.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "net/cidr.hpp"

namespace volley::net {
namespace {

struct AddressCase {
  std::string_view text;
  std::optional<std::string> canonical;  // to_string(); nullopt = refused
  bool is_v4 = false;
};

TEST(IpAddress, Parse) {
  const AddressCase cases[] = {
      {"192.0.2.7", "192.0.2.7", true},
      {"0.0.0.0", "0.0.0.0", true},
      {"255.255.255.255", "255.255.255.255", true},
      {"::1", "::1", false},
      {"::", "::", false},
      {"2001:DB8::1", "2001:db8::1", false},
      {"2001:db8:0:0:0:0:0:1", "2001:db8::1", false},
      {"::ffff:192.0.2.7", "192.0.2.7", true},  // v4-mapped is normalised to IPv4
      {"::ffff:c000:207", "192.0.2.7", true},
      {"::192.0.2.7", "::192.0.2.7", false},  // v4-compatible is not mapped
      {"", std::nullopt},
      {"1.2.3", std::nullopt},
      {"1.2.3.4.5", std::nullopt},
      {"256.1.1.1", std::nullopt},
      {"01.2.3.4", std::nullopt},
      {" 1.2.3.4", std::nullopt},
      {"1.2.3.4 ", std::nullopt},
      {"localhost", std::nullopt},
      {"fe80::1%eth0", std::nullopt},
      {"[::1]", std::nullopt},
      {"1:2:3:4:5:6:7:8:9", std::nullopt},
      {std::string_view("1.2.3.4\0", 8), std::nullopt},
      {"1234567890123456789012345678901234567890123456789", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.text));
    auto ip = IpAddress::parse(c.text);
    ASSERT_EQ(ip.has_value(), c.canonical.has_value());
    if (!ip) continue;
    EXPECT_EQ(ip->to_string(), *c.canonical);
    EXPECT_EQ(ip->is_v4, c.is_v4);
  }
}

TEST(IpAddress, V4IsStoredMapped) {
  auto a = IpAddress::parse("192.0.2.7");
  auto b = IpAddress::parse("::ffff:192.0.2.7");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  const std::array<uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
  EXPECT_EQ(a->bytes, mapped);
}

struct CidrCase {
  std::string_view text;
  std::optional<std::string> canonical;  // to_string(); nullopt = refused
  unsigned prefix_len = 0;
};

TEST(Cidr, Parse) {
  const CidrCase cases[] = {
      {"10.0.0.0/8", "10.0.0.0/8", 8},
      {"127.0.0.1/32", "127.0.0.1/32", 32},
      {"192.0.2.7", "192.0.2.7/32", 32},  // bare address = host prefix
      {"0.0.0.0/0", "0.0.0.0/0", 0},
      {"::1/128", "::1/128", 128},
      {"::1", "::1/128", 128},
      {"::/0", "::/0", 0},
      {"2001:db8::/32", "2001:db8::/32", 32},
      {"2001:db8::/127", "2001:db8::/127", 127},
      {"::ffff:10.0.0.0/104", "10.0.0.0/8", 8},  // mapped v6 prefix = the IPv4 prefix it denotes
      {"::ffff:0.0.0.0/96", "0.0.0.0/0", 0},
      {"::ffff:0:0/95", std::nullopt},  // host bits: 0xffff lies below a /95
      {"10.0.0.1/8", std::nullopt},     // host bits set: likely a typo
      {"192.168.1.0/23", std::nullopt},
      {"2001:db8::1/64", std::nullopt},
      {"::1/127", std::nullopt},
      {"10.0.0.0/33", std::nullopt},
      {"::/129", std::nullopt},
      {"10.0.0.0/", std::nullopt},
      {"10.0.0.0/08", std::nullopt},
      {"10.0.0.0/-1", std::nullopt},
      {"10.0.0.0/+8", std::nullopt},
      {"10.0.0.0/8/8", std::nullopt},
      {"10.0.0.0/ 8", std::nullopt},
      {"/8", std::nullopt},
      {"", std::nullopt},
      {"garbage", std::nullopt},
      {"10.0.0/8", std::nullopt},
      {"example.com/24", std::nullopt},
      {"10.0.0.0/1000", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.text));
    auto cidr = Cidr::parse(c.text);
    ASSERT_EQ(cidr.has_value(), c.canonical.has_value());
    if (!cidr) continue;
    EXPECT_EQ(cidr->to_string(), *c.canonical);
    EXPECT_EQ(cidr->prefix_len, c.prefix_len);
  }
}

struct ContainsCase {
  std::string_view cidr;
  std::string_view ip;
  bool contained;
};

TEST(Cidr, Contains) {
  const ContainsCase cases[] = {
      {"10.0.0.0/8", "10.255.1.2", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"10.0.0.0/8", "9.255.255.255", false},
      {"192.168.1.0/24", "192.168.1.255", true},
      {"192.168.1.0/25", "192.168.1.128", false},  // prefix not on a byte boundary
      {"192.168.1.0/25", "192.168.1.127", true},
      {"127.0.0.1/32", "127.0.0.1", true},
      {"127.0.0.1/32", "127.0.0.2", false},
      {"0.0.0.0/0", "203.0.113.9", true},
      {"0.0.0.0/0", "::1", false},  // an IPv4 network holds no IPv6 peers
      {"0.0.0.0/0", "2001:db8::1", false},
      // v4 network vs a v4-mapped v6 peer (dual-stack socket), and back
      {"10.0.0.0/8", "::ffff:10.1.2.3", true},
      {"10.0.0.0/8", "::ffff:11.1.2.3", false},
      {"::ffff:10.0.0.0/104", "10.1.2.3", true},
      {"::ffff:0:0/96", "198.51.100.1", true},
      {"::/0", "198.51.100.1", true},  // all of IPv6 includes the mapped range
      {"::1/128", "::1", true},
      {"::1/128", "::2", false},
      {"::1/128", "127.0.0.1", false},
      {"2001:db8::/32", "2001:db8:ffff::1", true},
      {"2001:db8::/32", "2001:db9::1", false},
      {"2001:db8::/33", "2001:db8:8000::", false},
      {"2001:db8::/128", "2001:db8::", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.cidr) + " " + std::string(c.ip));
    auto cidr = Cidr::parse(c.cidr);
    auto ip = IpAddress::parse(c.ip);
    ASSERT_TRUE(cidr && ip);
    EXPECT_EQ(cidr->contains(*ip), c.contained);
  }
}

}  // namespace
}  // namespace volley::net
