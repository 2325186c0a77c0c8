// Routing without a DNS server: split_recipients (local / per domain /
// smarthost), and Router::route over a table-driven Resolver on made-up time:
// MX preference order, the route cache and its expiry, every failure's
// status (null MX, NXDOMAIN, temporary DNS trouble, MX hosts without
// addresses), smarthost and address-literal routes that need no MX lookup,
// and the endpoint bounds against a hostile zone.
#include "delivery/router.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <algorithm>
#include <map>

#include "temp_dir.hpp"

#include "delivery/limits.hpp"

namespace volley::delivery {
namespace {

class TableResolver final : public Resolver {
 public:
  explicit TableResolver(asio::io_context& io) : io_(io) {}
  std::map<std::string, MxAnswer> mx;
  std::map<std::string, AddressAnswer> addresses;
  std::vector<std::string> asked;  // "MX name" / "A name", in order

  void query_mx(const std::string& domain, std::function<void(MxAnswer)> done) override {
    asked.push_back("MX " + domain);
    MxAnswer a;
    if (auto it = mx.find(domain); it != mx.end()) a = it->second;
    else a = {DnsStatus::NxDomain, {}, "NXDOMAIN"};
    asio::post(io_, [done = std::move(done), a] { done(a); });
  }
  void query_addresses(const std::string& host, std::function<void(AddressAnswer)> done) override {
    asked.push_back("A " + host);
    AddressAnswer a;
    if (auto it = addresses.find(host); it != addresses.end()) a = it->second;
    else a = {DnsStatus::NxDomain, {}, "NXDOMAIN"};
    asio::post(io_, [done = std::move(done), a] { done(a); });
  }
  // Routing asks neither; answered NXDOMAIN so that the interface is complete.
  void query_txt(const std::string& name, std::function<void(TxtAnswer)> done) override {
    asked.push_back("TXT " + name);
    asio::post(io_, [done = std::move(done)] { done({DnsStatus::NxDomain, {}, "NXDOMAIN"}); });
  }
  void query_ptr(const std::string& name, std::function<void(PtrAnswer)> done) override {
    asked.push_back("PTR " + name);
    asio::post(io_, [done = std::move(done)] { done({DnsStatus::NxDomain, {}, "NXDOMAIN"}); });
  }
  std::map<std::string, TlsaAnswer> tlsa;
  void query_tlsa(const std::string& name, std::function<void(TlsaAnswer)> done) override {
    asked.push_back("TLSA " + name);
    TlsaAnswer a;
    if (auto it = tlsa.find(name); it != tlsa.end()) a = it->second;
    else a.status = DnsStatus::NxDomain;
    asio::post(io_, [done = std::move(done), a] { done(a); });
  }

 private:
  asio::io_context& io_;
};

AddressAnswer ips(std::vector<std::string> list) {
  AddressAnswer a;
  a.status = DnsStatus::Ok;
  for (auto& s : list) a.addresses.push_back(asio::ip::make_address(s));
  return a;
}

struct RouterTest : ::testing::Test {
  asio::io_context io;
  TableResolver dns{io};
  FakeClock clock;
  Router router{dns, clock, 7};
  config::DeliverySection del;

  Route route(Destination& d) {
    std::optional<Route> out;
    asio::co_spawn(io, router.route(d, del), [&](std::exception_ptr e, Route r) {
      if (e) std::rethrow_exception(e);
      out = std::move(r);
    });
    io.restart();
    io.run();
    EXPECT_TRUE(out.has_value());
    return out.value_or(Route{});
  }
  static std::vector<std::string> hosts(const Route& r) {
    std::vector<std::string> out;
    for (const auto& e : r.endpoints) out.push_back(e.host + "=" + e.address.to_string() + ":" + std::to_string(e.port));
    return out;
  }
};

TEST_F(RouterTest, MxHostsInPreferenceOrderWithTheirAddresses) {
  dns.mx["example.com"] = {DnsStatus::Ok, {{20, "mx2.example.com"}, {10, "mx1.example.com"}}, ""};
  dns.addresses["mx1.example.com"] = ips({"192.0.2.1", "2001:db8::1"});
  dns.addresses["mx2.example.com"] = ips({"192.0.2.2"});
  Destination d("example.com", "example.com");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(hosts(r), (std::vector<std::string>{"mx1.example.com=192.0.2.1:25", "mx1.example.com=2001:db8::1:25",
                                                "mx2.example.com=192.0.2.2:25"}));
}

TEST_F(RouterTest, AnswerIsReusedUntilTheCacheTimeEnds) {
  dns.mx["example.com"] = {DnsStatus::Ok, {{10, "mx.example.com"}}, ""};
  dns.addresses["mx.example.com"] = ips({"192.0.2.1"});
  Destination d("example.com", "example.com");
  ASSERT_TRUE(route(d).ok);
  ASSERT_EQ(dns.asked.size(), 2u);
  clock.advance(limits::kRouteCacheTime - std::chrono::milliseconds(1));
  ASSERT_TRUE(route(d).ok);
  EXPECT_EQ(dns.asked.size(), 2u);  // from the cache
  clock.advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(route(d).ok);
  EXPECT_EQ(dns.asked.size(), 4u);  // asked again
}

TEST_F(RouterTest, NullMxBouncesWith5_1_10) {
  dns.mx["nomail.test"] = {DnsStatus::Ok, {{0, ""}}, ""};
  Destination d("nomail.test", "nomail.test");
  Route r = route(d);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure.status, Status::Bounced);
  EXPECT_EQ(r.failure.enhanced, "5.1.10");
}

TEST_F(RouterTest, NoSuchDomainBouncesWith5_1_2) {
  Destination d("gone.test", "gone.test");
  Route r = route(d);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure.status, Status::Bounced);
  EXPECT_EQ(r.failure.enhanced, "5.1.2");
}

TEST_F(RouterTest, DnsTroubleDefersNeverBounces) {
  dns.mx["flaky.test"] = {DnsStatus::TempFail, {}, "SERVFAIL"};
  Destination d("flaky.test", "flaky.test");
  Route r = route(d);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure.status, Status::Deferred);
  EXPECT_EQ(r.failure.enhanced, "4.4.3");
  // An address lookup failing temporarily for the only MX host: deferred too.
  dns.mx["half.test"] = {DnsStatus::Ok, {{10, "mx.half.test"}}, ""};
  dns.addresses["mx.half.test"] = {DnsStatus::TempFail, {}, "timed out"};
  Destination h("half.test", "half.test");
  r = route(h);
  EXPECT_EQ(r.failure.status, Status::Deferred);
  EXPECT_EQ(r.failure.enhanced, "4.4.3");
}

TEST_F(RouterTest, MxHostsWithoutAddressesBounceWith5_4_4) {
  dns.mx["broken.test"] = {DnsStatus::Ok, {{10, "nowhere.broken.test"}}, ""};
  Destination d("broken.test", "broken.test");
  Route r = route(d);
  EXPECT_EQ(r.failure.status, Status::Bounced);
  EXPECT_EQ(r.failure.enhanced, "5.4.4");
}

TEST_F(RouterTest, ImplicitMxWithoutAddressBouncesWith5_1_2) {
  dns.mx["bare.test"] = {DnsStatus::NoRecords, {}, "no MX"};
  Destination d("bare.test", "bare.test");
  Route r = route(d);
  EXPECT_EQ(r.failure.enhanced, "5.1.2");
  dns.addresses["bare.test"] = ips({"192.0.2.7"});
  Destination d2("bare.test", "bare.test");
  r = route(d2);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(hosts(r), (std::vector<std::string>{"bare.test=192.0.2.7:25"}));
}

TEST_F(RouterTest, MxPortApplies) {
  del.mx_port = 2525;
  dns.mx["example.com"] = {DnsStatus::Ok, {{10, "mx.example.com"}}, ""};
  dns.addresses["mx.example.com"] = ips({"192.0.2.1"});
  Destination d("example.com", "example.com");
  EXPECT_EQ(hosts(route(d)), (std::vector<std::string>{"mx.example.com=192.0.2.1:2525"}));
}

TEST_F(RouterTest, SmarthostByAddressNeedsNoDns) {
  del.smarthost = "127.0.0.1:2526";
  Destination d(kSmarthostKey, "");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(hosts(r), (std::vector<std::string>{"=127.0.0.1:2526"}));
  EXPECT_EQ(r.endpoints[0].mta_name(), "127.0.0.1");  // Remote-MTA even without a name
  EXPECT_TRUE(dns.asked.empty());
}

TEST_F(RouterTest, SmarthostInBracketsIsLookedUpWithoutMx) {
  del.smarthost = "[relay.example.net]:587";
  dns.addresses["relay.example.net"] = ips({"192.0.2.5"});
  Destination d(kSmarthostKey, "");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(hosts(r), (std::vector<std::string>{"relay.example.net=192.0.2.5:587"}));
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"A relay.example.net"}));
}

TEST_F(RouterTest, SmarthostWithoutBracketsUsesItsMx) {
  del.smarthost = "example.net";
  dns.mx["example.net"] = {DnsStatus::Ok, {{10, "mx.example.net"}}, ""};
  dns.addresses["mx.example.net"] = ips({"192.0.2.6"});
  Destination d(kSmarthostKey, "");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(hosts(r), (std::vector<std::string>{"mx.example.net=192.0.2.6:25"}));
}

TEST_F(RouterTest, UnusableSmarthostDefersWith4_3_5) {
  del.smarthost = "bad host name:x";
  Destination d(kSmarthostKey, "");
  Route r = route(d);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure.status, Status::Deferred);
  EXPECT_EQ(r.failure.enhanced, "4.3.5");
}

TEST_F(RouterTest, AddressLiteralsGoStraightThere) {
  Destination v4("[192.0.2.9]", "[192.0.2.9]");
  EXPECT_EQ(hosts(route(v4)), (std::vector<std::string>{"=192.0.2.9:25"}));
  Destination v6("[ipv6:2001:db8::9]", "[ipv6:2001:db8::9]");
  EXPECT_EQ(hosts(route(v6)), (std::vector<std::string>{"=2001:db8::9:25"}));
  EXPECT_TRUE(dns.asked.empty());
}

TEST_F(RouterTest, HostileZoneIsBounded) {
  std::vector<MxRecord> many;
  for (int i = 0; i < 30; ++i) {
    std::string h = "mx" + std::to_string(i) + ".big.test";
    many.push_back({static_cast<uint16_t>(i), h});
    std::vector<std::string> list;
    for (int k = 0; k < 10; ++k) list.push_back("192.0." + std::to_string(i) + "." + std::to_string(k + 1));
    dns.addresses[h] = ips(list);
  }
  dns.mx["big.test"] = {DnsStatus::Ok, many, ""};
  Destination d("big.test", "big.test");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.endpoints.size(), limits::kMaxEndpoints);
  size_t lookups = 0;
  for (const auto& q : dns.asked) lookups += q.rfind("A ", 0) == 0;
  EXPECT_LE(lookups, limits::kMaxMxHosts);
  std::map<std::string, size_t> per_host;
  for (const auto& e : r.endpoints) ++per_host[e.host];
  for (const auto& [h, n] : per_host) EXPECT_LE(n, limits::kMaxAddressesPerHost) << h;
}

TEST_F(RouterTest, ShapingRuleMatchedByMxHostOnceRouted) {
  config::ShapingRule rule;
  rule.match = "provider.test";
  del.shaping.push_back(rule);
  dns.mx["customer.test"] = {DnsStatus::Ok, {{10, "mx1.provider.test"}}, ""};
  dns.addresses["mx1.provider.test"] = ips({"192.0.2.3"});
  Destination d("customer.test", "customer.test");
  d.refresh_rule(del, 1);
  EXPECT_EQ(d.rule(), -1);
  ASSERT_TRUE(route(d).ok);
  EXPECT_EQ(d.rule(), 0);
}

queue::Envelope envelope(std::vector<std::pair<std::string, queue::RecipientState>> rcpts) {
  queue::Envelope e;
  for (auto& [addr, state] : rcpts) {
    queue::Recipient r;
    r.address = addr;
    r.state = state;
    e.recipients.push_back(r);
  }
  return e;
}

TEST(SplitRecipients, LocalAndByDomainInFirstSeenOrder) {
  using S = queue::RecipientState;
  auto env = envelope({{"a@b.test", S::Pending},
                       {"u@local.test", S::Pending},
                       {"c@A.test", S::Deferred},
                       {"d@b.test", S::Pending},
                       {"done@a.test", S::Delivered},
                       {"gone@a.test", S::Bounced}});
  auto s = split_recipients(env, {"local.test"}, "");
  EXPECT_EQ(s.local, (std::vector<size_t>{1}));
  ASSERT_EQ(s.remote.size(), 2u);
  EXPECT_EQ(s.remote[0].key, "b.test");
  EXPECT_EQ(s.remote[0].rcpts, (std::vector<size_t>{0, 3}));
  EXPECT_EQ(s.remote[1].key, "a.test");  // domains are compared lowercased
  EXPECT_EQ(s.remote[1].domain, "a.test");
  EXPECT_EQ(s.remote[1].rcpts, (std::vector<size_t>{2}));
}

TEST(SplitRecipients, SmarthostTakesEveryRemoteRecipient) {
  using S = queue::RecipientState;
  auto env = envelope({{"a@b.test", S::Pending}, {"u@local.test", S::Pending}, {"c@d.test", S::Pending}});
  auto s = split_recipients(env, {"local.test"}, "relay.test:25");
  EXPECT_EQ(s.local, (std::vector<size_t>{1}));
  ASSERT_EQ(s.remote.size(), 1u);
  EXPECT_EQ(s.remote[0].key, kSmarthostKey);
  EXPECT_EQ(s.remote[0].domain, "");
  EXPECT_EQ(s.remote[0].rcpts, (std::vector<size_t>{0, 2}));
}

// Recipients the daemon consumes (the platform's report addresses) are split
// off before routing: never local, never relayed, even through a smarthost.
TEST(SplitRecipients, ConsumedRecipientsComeFirstAndAreNeverRouted) {
  struct Consumer : RecipientConsumer {
    bool consumes(const std::string& a) const override { return a.rfind("bounces+", 0) == 0 || a == "fbl@local.test"; }
    DeliveryTarget& target() override { std::abort(); }
  } consumer;
  using S = queue::RecipientState;
  auto env = envelope({{"bounces+x@remote.test", S::Pending},
                       {"u@local.test", S::Pending},
                       {"fbl@local.test", S::Deferred},
                       {"c@d.test", S::Pending},
                       {"bounces+y@d.test", S::Delivered}});
  auto s = split_recipients(env, {"local.test"}, "relay.test:25", &consumer);
  EXPECT_EQ(s.consumed, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(s.local, (std::vector<size_t>{1}));
  ASSERT_EQ(s.remote.size(), 1u);
  EXPECT_EQ(s.remote[0].rcpts, (std::vector<size_t>{3}));
  EXPECT_TRUE(split_recipients(env, {"local.test"}, "").consumed.empty());  // no consumer: routed as before
}

// ---- transport security: DANE (RFC 7672) and MTA-STS (RFC 8461) per MX host ----

TlsaAnswer tlsa_ok(bool secure) {
  TlsaAnswer a;
  a.status = DnsStatus::Ok;
  a.secure = secure;
  a.records.push_back({3, 1, 1, std::string(32, 'h')});
  a.records.push_back({0, 1, 1, std::string(32, 'u')});  // PKIX-TA: unusable for SMTP, dropped
  return a;
}

struct SecureMxRoute : RouterTest {
  SecureMxRoute() {
    MxAnswer mx{DnsStatus::Ok, {{10, "mx1.example.com"}, {20, "mx2.example.com"}}, ""};
    mx.secure = true;
    dns.mx["example.com"] = mx;
    dns.addresses["mx1.example.com"] = secure(ips({"192.0.2.1"}));
    dns.addresses["mx2.example.com"] = secure(ips({"192.0.2.2"}));
  }
  static AddressAnswer secure(AddressAnswer a) {
    a.secure = true;
    return a;
  }
};

TEST_F(SecureMxRoute, InsecureAddressesMeanNoDane) {
  dns.addresses["mx1.example.com"] = ips({"192.0.2.1"});  // no AD
  dns.tlsa["_25._tcp.mx1.example.com"] = tlsa_ok(true);
  Destination d("example.com", "example.com");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.endpoints[0].policy);
  EXPECT_EQ(std::count(dns.asked.begin(), dns.asked.end(), "TLSA _25._tcp.mx1.example.com"), 0);
  EXPECT_EQ(std::count(dns.asked.begin(), dns.asked.end(), "A mx1.example.com"), 1);  // asked once, kept for routing
}

TEST_F(SecureMxRoute, SecureTlsaRecordsMakeTheHostDaneBound) {
  dns.tlsa["_25._tcp.mx1.example.com"] = tlsa_ok(true);
  Destination d("example.com", "example.com");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.endpoints.size(), 2u);
  ASSERT_TRUE(r.endpoints[0].policy);
  EXPECT_EQ(r.endpoints[0].policy->kind, PolicyKind::Dane);
  ASSERT_EQ(r.endpoints[0].policy->tlsa.size(), 1u);
  EXPECT_EQ(r.endpoints[0].policy->tlsa[0].usage, 3);
  EXPECT_FALSE(r.endpoints[1].policy);  // NXDOMAIN at _25._tcp.mx2: no DANE for it
}

TEST_F(SecureMxRoute, InsecureTlsaAnswerIsIgnored) {
  dns.tlsa["_25._tcp.mx1.example.com"] = tlsa_ok(false);
  Destination d("example.com", "example.com");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.endpoints[0].policy);
}

TEST_F(SecureMxRoute, TlsaLookupFailureDropsTheHostNeverDowngrades) {
  dns.tlsa["_25._tcp.mx1.example.com"] = {DnsStatus::TempFail, {}, false, "SERVFAIL"};
  Destination d("example.com", "example.com");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(hosts(r), (std::vector<std::string>{"mx2.example.com=192.0.2.2:25"}));
}

TEST_F(SecureMxRoute, EveryTlsaLookupFailingDefersNamingDane) {
  dns.tlsa["_25._tcp.mx1.example.com"] = {DnsStatus::TempFail, {}, false, "SERVFAIL"};
  dns.tlsa["_25._tcp.mx2.example.com"] = {DnsStatus::TempFail, {}, false, "SERVFAIL"};
  Destination d("example.com", "example.com");
  Route r = route(d);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.failure.status, Status::Deferred);
  EXPECT_EQ(r.failure.enhanced, "4.7.5");
  EXPECT_EQ(r.failure.policy, "dane");
  EXPECT_NE(r.failure.reply.find("DANE: TLSA lookup of _25._tcp.mx1.example.com failed: SERVFAIL"), std::string::npos);
}

TEST_F(SecureMxRoute, DaneOffAsksNoTlsa) {
  del.dane = false;
  dns.tlsa["_25._tcp.mx1.example.com"] = tlsa_ok(true);
  Destination d("example.com", "example.com");
  ASSERT_TRUE(route(d).ok);
  for (const auto& q : dns.asked) EXPECT_EQ(q.rfind("TLSA", 0), std::string::npos) << q;
}

TEST_F(RouterTest, InsecureMxAsksNoTlsa) {
  dns.mx["example.com"] = {DnsStatus::Ok, {{10, "mx1.example.com"}}, ""};
  dns.addresses["mx1.example.com"] = ips({"192.0.2.1"});
  dns.tlsa["_25._tcp.mx1.example.com"] = tlsa_ok(true);
  Destination d("example.com", "example.com");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.endpoints[0].policy);
  for (const auto& q : dns.asked) EXPECT_EQ(q.rfind("TLSA", 0), std::string::npos) << q;
}

// A policy source whose cache holds example.com's policy (`mode`, one mx
// pattern) for a day, attached to the test's router.
std::unique_ptr<MtaStsSource> cached_policy(RouterTest& t, const test::TempDir& dir, mta_sts::Mode mode,
                                            const std::string& mx) {
  auto cache = mta_sts::PolicyCache::open(dir.path);
  EXPECT_TRUE(cache);
  if (!cache) return nullptr;
  const int64_t now = t.clock.unix_seconds();
  EXPECT_TRUE(cache.value()->put("example.com", {{mode, {mx}, 86400}, "id1", now, now + 86400}));
  auto sts = std::make_unique<MtaStsSource>(t.dns, t.clock, t.io.get_executor(), std::move(cache.value()));
  t.router.set_mta_sts(sts.get());
  return sts;
}

// RFC 8461 2: where DANE applies to a host, MTA-STS does not (here the
// policy lists neither MX host; only the DANE-bound one is kept).
TEST_F(SecureMxRoute, DaneTakesPrecedenceOverMtaSts) {
  test::TempDir dir("router-dane-sts");
  auto sts = cached_policy(*this, dir, mta_sts::Mode::Enforce, "mail.example.org");
  dns.tlsa["_25._tcp.mx2.example.com"] = tlsa_ok(true);
  Destination d("example.com", "example.com");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(hosts(r), (std::vector<std::string>{"mx2.example.com=192.0.2.2:25"}));
  EXPECT_EQ(r.endpoints[0].policy->kind, PolicyKind::Dane);
}

// MTA-STS from the persistent cache (the table answers no _mta-sts TXT:
// RFC 8461 5.1 keeps the cached policy in force).
struct StsRoute : RouterTest {
  test::TempDir dir{"router-sts"};
  std::unique_ptr<MtaStsSource> sts;
  StsRoute() {
    dns.mx["example.com"] = {DnsStatus::Ok, {{10, "mx1.example.com"}, {20, "backup.other.net"}}, ""};
    dns.addresses["mx1.example.com"] = ips({"192.0.2.1"});
    dns.addresses["backup.other.net"] = ips({"192.0.2.9"});
  }
  void policy(mta_sts::Mode mode) { sts = cached_policy(*this, dir, mode, "*.example.com"); }
  // Both MX hosts, neither held to a policy.
  void expect_no_policy() {
    Destination d("example.com", "example.com");
    Route r = route(d);
    ASSERT_TRUE(r.ok);
    ASSERT_EQ(r.endpoints.size(), 2u);
    EXPECT_FALSE(r.endpoints[0].policy);
    EXPECT_FALSE(r.endpoints[1].policy);
  }
};

TEST_F(StsRoute, EnforceKeepsOnlyMatchingMxHosts) {
  policy(mta_sts::Mode::Enforce);
  Destination d("example.com", "example.com");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(hosts(r), (std::vector<std::string>{"mx1.example.com=192.0.2.1:25"}));
  ASSERT_TRUE(r.endpoints[0].policy);
  EXPECT_EQ(r.endpoints[0].policy->kind, PolicyKind::MtaSts);
  EXPECT_FALSE(r.endpoints[0].policy->testing);
}

TEST_F(StsRoute, EnforceWithNoMatchingHostDefers) {
  policy(mta_sts::Mode::Enforce);
  dns.mx["example.com"] = {DnsStatus::Ok, {{20, "backup.other.net"}}, ""};
  Destination d("example.com", "example.com");
  Route r = route(d);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.failure.status, Status::Deferred);
  EXPECT_EQ(r.failure.policy, "mta-sts");
  EXPECT_NE(r.failure.reply.find("MTA-STS policy of example.com (mode enforce) does not list MX host backup.other.net"),
            std::string::npos);
}

TEST_F(StsRoute, TestingKeepsEveryHost) {
  policy(mta_sts::Mode::Testing);
  Destination d("example.com", "example.com");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.endpoints.size(), 2u);
  ASSERT_TRUE(r.endpoints[1].policy);
  EXPECT_TRUE(r.endpoints[1].policy->testing);
}

TEST_F(StsRoute, ModeNoneIsNoPolicy) {
  policy(mta_sts::Mode::None);
  expect_no_policy();
}

TEST_F(StsRoute, ExpiredPolicyIsNoPolicy) {
  policy(mta_sts::Mode::Enforce);
  clock.advance(std::chrono::seconds(86401));
  expect_no_policy();
}

TEST_F(StsRoute, MtaStsOffIgnoresThePolicy) {
  policy(mta_sts::Mode::Enforce);
  del.mta_sts = false;
  expect_no_policy();
}

TEST_F(StsRoute, SmarthostRoutesHaveNoPolicy) {
  policy(mta_sts::Mode::Enforce);
  del.smarthost = "[192.0.2.50]:2525";
  Destination d(kSmarthostKey, "");
  Route r = route(d);
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.endpoints[0].policy);
}

}  // namespace
}  // namespace volley::delivery
