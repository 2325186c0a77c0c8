// plan_routes (RFC 5321 5.1 / RFC 7505) and parse_host_port: tables of
// answers and strings, plus the shuffling of equal preferences observed over
// many seeds.
#include "delivery/route_plan.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include "util/strings.hpp"

namespace volley::delivery {
namespace {

using Kind = RoutePlan::Kind;

MxAnswer ok(std::vector<MxRecord> records) { return {DnsStatus::Ok, std::move(records), ""}; }

std::string kind_name(Kind k) {
  switch (k) {
    case Kind::Hosts: return "Hosts";
    case Kind::NullMx: return "NullMx";
    case Kind::NoSuchDomain: return "NoSuchDomain";
    case Kind::TempFail: return "TempFail";
  }
  return "?";
}

struct PlanCase {
  std::string name;
  MxAnswer answer;
  std::string domain;
  Kind kind;
  std::vector<std::string> hosts;
  bool implicit = false;
  size_t max_hosts = kDefaultMaxMxHosts;
};

TEST(PlanRoutes, Table) {
  std::vector<std::string> first_ten;
  std::vector<MxRecord> fifteen;
  for (int i = 0; i < 15; ++i)
    fifteen.push_back({static_cast<uint16_t>(100 - i), "mx" + std::to_string(i) + ".example.com"});
  // Preferences descend with i, so the plan lists them from mx14 down.
  for (int i = 14; i >= 5; --i) first_ten.push_back("mx" + std::to_string(i) + ".example.com");

  const PlanCase cases[] = {
      {"by preference", ok({{20, "b.example.com"}, {10, "a.example.com"}, {30, "c.example.com"}}), "example.com",
       Kind::Hosts, {"a.example.com", "b.example.com", "c.example.com"}},
      {"preference 0 is a normal host", ok({{5, "b.example.com"}, {0, "a.example.com"}}), "example.com", Kind::Hosts,
       {"a.example.com", "b.example.com"}},
      {"names normalised", ok({{10, "MX.Example.COM."}}), "example.com", Kind::Hosts, {"mx.example.com"}},
      {"null MX", ok({{0, ""}}), "example.com", Kind::NullMx, {}},
      {"null MX written with a dot", ok({{0, "."}}), "example.com", Kind::NullMx, {}},
      {"lone root at another preference", ok({{10, ""}}), "example.com", Kind::NullMx, {}},
      {"root beside real hosts is ignored", ok({{0, ""}, {10, "mx.example.com"}}), "example.com", Kind::Hosts,
       {"mx.example.com"}},
      {"two root records", ok({{0, ""}, {0, "."}}), "example.com", Kind::NullMx, {}},
      {"NODATA: implicit MX", {DnsStatus::NoRecords, {}, "no records"}, "example.com", Kind::Hosts, {"example.com"},
       true},
      {"implicit MX normalises the domain", {DnsStatus::NoRecords, {}, ""}, "Example.COM.", Kind::Hosts,
       {"example.com"}, true},
      {"Ok without records: implicit MX", ok({}), "example.com", Kind::Hosts, {"example.com"}, true},
      {"NXDOMAIN", {DnsStatus::NxDomain, {}, "NXDOMAIN"}, "nowhere.example", Kind::NoSuchDomain, {}},
      {"NXDOMAIN ignores stray records", {DnsStatus::NxDomain, {{10, "mx.example.com"}}, ""}, "nowhere.example",
       Kind::NoSuchDomain, {}},
      {"SERVFAIL", {DnsStatus::TempFail, {}, "SERVFAIL"}, "example.com", Kind::TempFail, {}},
      {"TempFail ignores stray records", {DnsStatus::TempFail, {{10, "mx.example.com"}}, "timed out"},
       "example.com", Kind::TempFail, {}},
      {"duplicates keep the most preferred", ok({{30, "b.example.com"}, {10, "a.example.com"}, {20, "A.example.com."}}),
       "example.com", Kind::Hosts, {"a.example.com", "b.example.com"}},
      {"equal duplicates", ok({{10, "a.example.com"}, {10, "a.example.com"}}), "example.com", Kind::Hosts,
       {"a.example.com"}},
      {"at most 10 by default", ok(fifteen), "example.com", Kind::Hosts, first_ten},
      {"cap counts distinct hosts",
       ok({{10, "a.example.com"}, {11, "a.example.com"}, {12, "b.example.com"}, {13, "c.example.com"}}),
       "example.com", Kind::Hosts, {"a.example.com", "b.example.com"}, false, 2},
      {"cap of 1", ok({{10, "a.example.com"}, {20, "b.example.com"}}), "example.com", Kind::Hosts,
       {"a.example.com"}, false, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::mt19937 rng(42);
    const RoutePlan plan = plan_routes(c.answer, c.domain, rng, c.max_hosts);
    EXPECT_EQ(kind_name(plan.kind), kind_name(c.kind));
    EXPECT_EQ(plan.hosts, c.hosts);
    EXPECT_EQ(plan.implicit, c.implicit);
    EXPECT_FALSE(plan.detail.empty());
  }
}

TEST(PlanRoutes, DetailCarriesTheDnsCause) {
  std::mt19937 rng(1);
  EXPECT_NE(plan_routes({DnsStatus::TempFail, {}, "SERVFAIL"}, "example.com", rng).detail.find("SERVFAIL"),
            std::string::npos);
  EXPECT_NE(plan_routes({DnsStatus::NxDomain, {}, ""}, "nowhere.example", rng).detail.find("nowhere.example"),
            std::string::npos);
  EXPECT_NE(plan_routes(ok({{0, ""}}), "example.com", rng).detail.find("null MX"), std::string::npos);
}

// Equal preferences come in every order over many seeds; lower preferences
// always come first; the same seed gives the same order.
TEST(PlanRoutes, EqualPreferencesAreShuffled) {
  const MxAnswer answer = ok({{20, "w.example.com"},
                              {10, "a.example.com"},
                              {10, "b.example.com"},
                              {5, "z.example.com"},
                              {10, "c.example.com"}});
  std::set<std::vector<std::string>> orders;
  std::map<std::string, int> first_of_group;
  for (unsigned seed = 0; seed < 300; ++seed) {
    std::mt19937 rng(seed);
    const RoutePlan plan = plan_routes(answer, "example.com", rng);
    ASSERT_EQ(plan.hosts.size(), 5u);
    EXPECT_EQ(plan.hosts.front(), "z.example.com");
    EXPECT_EQ(plan.hosts.back(), "w.example.com");
    const std::vector<std::string> middle(plan.hosts.begin() + 1, plan.hosts.end() - 1);
    EXPECT_EQ(std::set<std::string>(middle.begin(), middle.end()),
              (std::set<std::string>{"a.example.com", "b.example.com", "c.example.com"}));
    orders.insert(middle);
    ++first_of_group[middle.front()];

    std::mt19937 again(seed);
    EXPECT_EQ(plan_routes(answer, "example.com", again).hosts, plan.hosts);
  }
  EXPECT_EQ(orders.size(), 6u);  // all 3! orders seen
  for (const auto& [host, n] : first_of_group) {
    SCOPED_TRACE(host);
    EXPECT_GT(n, 50);  // roughly a third of 300 each; a fixed order would give 0 or 300
  }
}

TEST(PlanRoutes, SinglePreferenceGroupNotStuck) {
  // Shuffling must not drop or duplicate hosts when every host shares one preference.
  std::vector<MxRecord> records;
  for (int i = 0; i < 8; ++i) records.push_back({10, concat("h", std::to_string(i), ".example.com")});
  std::mt19937 rng(7);
  const RoutePlan plan = plan_routes(ok(records), "example.com", rng, 8);
  EXPECT_EQ(std::set<std::string>(plan.hosts.begin(), plan.hosts.end()).size(), 8u);
}

struct HostPortCase {
  std::string_view text;
  std::optional<HostPort> want;  // nullopt: refused
  bool needs_mx = false;
};

HostPort hp(std::string host, uint16_t port, bool brackets) { return {std::move(host), port, brackets}; }

TEST(ParseHostPort, Table) {
  const HostPortCase cases[] = {
      {"mail.example.com", hp("mail.example.com", 25, false), true},
      {"Mail.Example.COM:2525", hp("mail.example.com", 2525, false), true},
      {"localhost", hp("localhost", 25, false), true},
      {"[mail.example.com]:587", hp("mail.example.com", 587, true), false},
      {"[mail.example.com]", hp("mail.example.com", 25, true), false},
      {"[::1]:25", hp("::1", 25, true), false},
      {"[::1]", hp("::1", 25, true), false},
      {"[2001:DB8::1]:2525", hp("2001:db8::1", 2525, true), false},
      {"127.0.0.1:2525", hp("127.0.0.1", 2525, false), false},
      {"127.0.0.1", hp("127.0.0.1", 25, false), false},
      {"[127.0.0.1]:2525", hp("127.0.0.1", 2525, true), false},
      {"host:1", hp("host", 1, false), true},
      {"host:65535", hp("host", 65535, false), true},
      {"", std::nullopt},
      {":25", std::nullopt},
      {"[]:25", std::nullopt},
      {"[]", std::nullopt},
      {"[::1", std::nullopt},
      {"[::1]25", std::nullopt},
      {"[::1]:", std::nullopt},
      {"[::1]:25:", std::nullopt},
      {"::1", std::nullopt},
      {"::1:25", std::nullopt},
      {"2001:db8::1", std::nullopt},
      {"host:", std::nullopt},
      {"host:0", std::nullopt},
      {"host:65536", std::nullopt},
      {"host:123456", std::nullopt},
      {"host:2x", std::nullopt},
      {"host:-1", std::nullopt},
      {"host:+25", std::nullopt},
      {"ho st:25", std::nullopt},
      {" host:25", std::nullopt},
      {"host:25 ", std::nullopt},
      {"host.:25", std::nullopt},
      {".host:25", std::nullopt},
      {"-host:25", std::nullopt},
      {"user@host:25", std::nullopt},
      {"host_name:25", std::nullopt},
      {"256.1.1.1:25", std::nullopt},
      {"10.1:25", std::nullopt},
      {"[fe80::1%eth0]:25", std::nullopt},
      {"[IPv6:::1]:25", std::nullopt},
      {"[a]b]:25", std::nullopt},
      {std::string_view("host\0:25", 8), std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.text));
    auto got = parse_host_port(c.text, 25);
    ASSERT_EQ(got.ok(), c.want.has_value()) << (got.ok() ? "accepted" : got.error().message);
    if (!got.ok()) {
      EXPECT_FALSE(got.error().message.empty());
      continue;
    }
    EXPECT_EQ(got->host, c.want->host);
    EXPECT_EQ(got->port, c.want->port);
    EXPECT_EQ(got->literal_brackets, c.want->literal_brackets);
    EXPECT_EQ(got->needs_mx_lookup(), c.needs_mx);
  }
}

TEST(ParseHostPort, DefaultPortIsTheCallers) {
  auto a = parse_host_port("resolver.example", 53);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 53);
  auto b = parse_host_port("[::1]", 5353);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->port, 5353);
}

TEST(IsIpLiteral, Table) {
  const std::pair<std::string_view, bool> cases[] = {
      {"192.0.2.1", true},     {"::1", true},        {"2001:db8::1", true}, {"::ffff:192.0.2.1", true},
      {"[::1]", false},        {"example.com", false}, {"", false},        {"192.0.2.1:25", false},
      {"192.0.2.256", false},  {"1.2.3", false},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(std::string(text));
    EXPECT_EQ(is_ip_literal(text), want);
  }
}

}  // namespace
}  // namespace volley::delivery
