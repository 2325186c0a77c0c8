// DnsResolver against FakeDnsServer on loopback: every DnsStatus for MX and
// for A/AAAA, the timeout budget, cancellation on destruction, the pending
// cap, many lookups at once, and bad resolver addresses.
#include "delivery/dns_resolver.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <optional>

#include "delivery/limits.hpp"
#include "delivery/route_plan.hpp"
#include "net/cidr.hpp"
#include "fake_dns_server.hpp"

namespace volley::delivery {
namespace {

using namespace std::chrono_literals;
using testing::FakeDnsServer;

std::string status_name(DnsStatus s) {
  switch (s) {
    case DnsStatus::Ok: return "Ok";
    case DnsStatus::NoRecords: return "NoRecords";
    case DnsStatus::NxDomain: return "NxDomain";
    case DnsStatus::TempFail: return "TempFail";
  }
  return "?";
}

std::vector<std::string> texts(const std::vector<asio::ip::address>& addresses) {
  std::vector<std::string> out;
  for (const auto& a : addresses) out.push_back(a.to_string());
  return out;
}

class DnsResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dns.add_mx("example.test", 20, "mx2.example.test");
    dns.add_mx("example.test", 10, "MX1.Example.TEST.");
    dns.add_a("example.test", "192.0.2.99");  // so that "example.test" exists for every type
    dns.add_mx("nullmx.test", 0, ".");
    dns.add_a("mx1.example.test", "192.0.2.1");
    dns.add_a("mx1.example.test", "192.0.2.2");
    dns.add_aaaa("mx1.example.test", "2001:db8::1");
    dns.add_aaaa("v6only.test", "2001:db8::6");
    dns.add_name("empty.test");
    dns.set_rcode("broken.test", FakeDnsServer::Rcode::ServFail);
    dns.set_rcode("refused.test", FakeDnsServer::Rcode::Refused);
    dns.set_silent("silent.test");
    dns.add_txt("example.test", {"v=spf1 ip4:192.0.2.0/24 ", "-all"});  // one record, two strings
    dns.add_txt("example.test", {"google-site-verification=abc"});
    dns.add_txt("empty-string.test", {""});
    dns.add_ptr("1.2.0.192.in-addr.arpa", "MX1.Example.TEST.");
    dns.add_ptr("2.2.0.192.in-addr.arpa", "a.example.test");
    dns.add_ptr("2.2.0.192.in-addr.arpa", "b.example.test");
  }

  std::unique_ptr<DnsResolver> make(std::chrono::milliseconds timeout = 2s) {
    auto r = DnsResolver::create(io, dns.address(), timeout);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r.value()) : nullptr;
  }

  // Runs the io_context until `done` holds a value (or 5 s pass).
  template <class T>
  void run_until(const std::optional<T>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    io.restart();
    while (!done && std::chrono::steady_clock::now() < deadline) io.run_one_for(50ms);
  }

  MxAnswer mx(DnsResolver& r, const std::string& domain) {
    std::optional<MxAnswer> out;
    r.query_mx(domain, [&](MxAnswer a) { out = std::move(a); });
    run_until(out);
    EXPECT_TRUE(out.has_value());
    return out.value_or(MxAnswer{});
  }

  // Any query_* as a blocking call: ask(r, &DnsResolver::query_txt, "name").
  template <class Answer>
  Answer ask(DnsResolver& r, void (DnsResolver::*query)(const std::string&, std::function<void(Answer)>),
             const std::string& name) {
    std::optional<Answer> out;
    (r.*query)(name, [&](Answer a) { out = std::move(a); });
    run_until(out);
    EXPECT_TRUE(out.has_value());
    return out.value_or(Answer{});
  }

  AddressAnswer addresses(DnsResolver& r, const std::string& host) {
    std::optional<AddressAnswer> out;
    r.query_addresses(host, [&](AddressAnswer a) { out = std::move(a); });
    run_until(out);
    EXPECT_TRUE(out.has_value());
    return out.value_or(AddressAnswer{});
  }

  FakeDnsServer dns;
  asio::io_context io;  // after dns: destroyed first, the server outlives every lookup
};

struct MxCase {
  std::string domain;
  DnsStatus status;
  std::vector<MxRecord> records;
  std::string detail_has;
};

TEST_F(DnsResolverTest, MxTable) {
  auto r = make();
  ASSERT_TRUE(r);
  const MxCase cases[] = {
      {"example.test", DnsStatus::Ok, {{20, "mx2.example.test"}, {10, "mx1.example.test"}}, ""},
      {"EXAMPLE.test.", DnsStatus::Ok, {{20, "mx2.example.test"}, {10, "mx1.example.test"}}, ""},
      {"nullmx.test", DnsStatus::Ok, {{0, ""}}, ""},
      {"mx1.example.test", DnsStatus::NoRecords, {}, ""},  // has A/AAAA only
      {"empty.test", DnsStatus::NoRecords, {}, ""},
      {"nowhere.test", DnsStatus::NxDomain, {}, "NXDOMAIN"},
      {"broken.test", DnsStatus::TempFail, {}, "SERVFAIL"},
      {"refused.test", DnsStatus::TempFail, {}, "REFUSED"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.domain);
    const MxAnswer a = mx(*r, c.domain);
    EXPECT_EQ(status_name(a.status), status_name(c.status)) << a.detail;
    EXPECT_EQ(a.records, c.records);
    EXPECT_NE(a.detail.find(c.detail_has), std::string::npos) << a.detail;
  }
  EXPECT_EQ(r->pending(), 0u);
}

TEST_F(DnsResolverTest, MxAnswerPlansRoutes) {
  auto r = make();
  ASSERT_TRUE(r);
  std::mt19937 rng(3);
  const RoutePlan hosts = plan_routes(mx(*r, "example.test"), "example.test", rng);
  EXPECT_EQ(hosts.hosts, (std::vector<std::string>{"mx1.example.test", "mx2.example.test"}));
  EXPECT_EQ(plan_routes(mx(*r, "nullmx.test"), "nullmx.test", rng).kind, RoutePlan::Kind::NullMx);
  const RoutePlan implicit = plan_routes(mx(*r, "empty.test"), "empty.test", rng);
  EXPECT_TRUE(implicit.implicit);
  EXPECT_EQ(implicit.hosts, std::vector<std::string>{"empty.test"});
  EXPECT_EQ(plan_routes(mx(*r, "nowhere.test"), "nowhere.test", rng).kind, RoutePlan::Kind::NoSuchDomain);
  EXPECT_EQ(plan_routes(mx(*r, "broken.test"), "broken.test", rng).kind, RoutePlan::Kind::TempFail);
}

struct AddressCase {
  std::string host;
  DnsStatus status;
  std::vector<std::string> addresses;
};

TEST_F(DnsResolverTest, AddressTable) {
  auto r = make();
  ASSERT_TRUE(r);
  const AddressCase cases[] = {
      {"mx1.example.test", DnsStatus::Ok, {"192.0.2.1", "192.0.2.2", "2001:db8::1"}},  // IPv4 first
      {"example.test", DnsStatus::Ok, {"192.0.2.99"}},                                // no AAAA: still Ok
      {"v6only.test", DnsStatus::Ok, {"2001:db8::6"}},
      {"nullmx.test", DnsStatus::NoRecords, {}},  // exists, MX only
      {"empty.test", DnsStatus::NoRecords, {}},
      {"nowhere.test", DnsStatus::NxDomain, {}},
      {"broken.test", DnsStatus::TempFail, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.host);
    const AddressAnswer a = addresses(*r, c.host);
    EXPECT_EQ(status_name(a.status), status_name(c.status)) << a.detail;
    EXPECT_EQ(texts(a.addresses), c.addresses);
    EXPECT_FALSE(a.detail.empty());
  }
  EXPECT_EQ(dns.query_count("mx1.example.test", FakeDnsServer::kTypeA), 1u);
  EXPECT_EQ(dns.query_count("mx1.example.test", FakeDnsServer::kTypeAaaa), 1u);
  // Each family's own outcome is kept (SPF asks one family at a time).
  const AddressAnswer v6only = addresses(*r, "v6only.test");
  EXPECT_EQ(status_name(v6only.v4_status), "NoRecords");
  EXPECT_EQ(status_name(v6only.v6_status), "Ok");
}

struct TxtCase {
  std::string name;
  DnsStatus status;
  std::vector<std::string> records;
  std::string detail_has;
};

TEST_F(DnsResolverTest, TxtTable) {
  auto r = make();
  ASSERT_TRUE(r);
  const TxtCase cases[] = {
      {"example.test", DnsStatus::Ok, {"v=spf1 ip4:192.0.2.0/24 -all", "google-site-verification=abc"}, ""},
      {"empty-string.test", DnsStatus::Ok, {""}, ""},
      {"mx1.example.test", DnsStatus::NoRecords, {}, ""},
      {"empty.test", DnsStatus::NoRecords, {}, ""},
      {"nowhere.test", DnsStatus::NxDomain, {}, "NXDOMAIN"},
      {"broken.test", DnsStatus::TempFail, {}, "SERVFAIL"},
      {"refused.test", DnsStatus::TempFail, {}, "REFUSED"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const TxtAnswer a = ask(*r, &DnsResolver::query_txt, c.name);
    EXPECT_EQ(status_name(a.status), status_name(c.status)) << a.detail;
    EXPECT_EQ(a.records, c.records);
    EXPECT_NE(a.detail.find(c.detail_has), std::string::npos) << a.detail;
  }
  EXPECT_EQ(r->pending(), 0u);
}

// A record set beyond the bound is a temporary failure, not a truncated set
// (a dropped record could be a second SPF record).
TEST_F(DnsResolverTest, TxtAnswerBeyondTheRecordBoundIsTempFail) {
  for (size_t i = 0; i <= limits::kMaxTxtRecords; ++i) dns.add_txt("many.test", {std::to_string(i)});
  for (size_t i = 0; i < limits::kMaxTxtRecords; ++i) dns.add_txt("enough.test", {std::to_string(i)});
  auto r = make();
  ASSERT_TRUE(r);
  const TxtAnswer many = ask(*r, &DnsResolver::query_txt, "many.test");
  EXPECT_EQ(status_name(many.status), "TempFail");
  EXPECT_NE(many.detail.find("too large"), std::string::npos) << many.detail;
  EXPECT_TRUE(many.records.empty());
  const TxtAnswer enough = ask(*r, &DnsResolver::query_txt, "enough.test");
  EXPECT_EQ(status_name(enough.status), "Ok") << enough.detail;
  EXPECT_EQ(enough.records.size(), limits::kMaxTxtRecords);
}

TEST_F(DnsResolverTest, PtrTable) {
  auto r = make();
  ASSERT_TRUE(r);
  const auto ip = [](const char* text) { return net::reverse_dns_name(*net::IpAddress::parse(text)); };
  struct Case {
    std::string name;
    DnsStatus status;
    std::vector<std::string> names;
  };
  const Case cases[] = {
      {ip("192.0.2.1"), DnsStatus::Ok, {"mx1.example.test"}},
      {ip("192.0.2.2"), DnsStatus::Ok, {"a.example.test", "b.example.test"}},
      {ip("192.0.2.3"), DnsStatus::NxDomain, {}},
      {"broken.test", DnsStatus::TempFail, {}},
      {"empty.test", DnsStatus::NoRecords, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const PtrAnswer a = ask(*r, &DnsResolver::query_ptr, c.name);
    EXPECT_EQ(status_name(a.status), status_name(c.status)) << a.detail;
    EXPECT_EQ(a.names, c.names);
  }
  EXPECT_EQ(ip("2001:db8::1"), "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

// DNSSEC status for DANE (RFC 7672): every query asks for AD, and an answer's
// `secure` is the validating resolver's AD bit, nothing else.
TEST_F(DnsResolverTest, QueriesAskForAdAndAnswersReportIt) {
  dns.add_mx("signed.test", 10, "mx.signed.test");
  dns.set_secure("signed.test");
  auto r = make();
  ASSERT_TRUE(r);
  const MxAnswer secure = mx(*r, "signed.test");
  EXPECT_EQ(status_name(secure.status), "Ok");
  EXPECT_TRUE(secure.secure);
  const MxAnswer insecure = mx(*r, "example.test");
  EXPECT_EQ(status_name(insecure.status), "Ok");
  EXPECT_FALSE(insecure.secure);
  EXPECT_EQ(insecure.records.size(), 2u);
  EXPECT_FALSE(mx(*r, "broken.test").secure);
  // Addresses: secure when every family that answered with addresses did so with AD.
  dns.add_a("mx.signed.test", "192.0.2.10");
  dns.set_secure("mx.signed.test");
  const AddressAnswer signed_addresses = addresses(*r, "mx.signed.test");
  EXPECT_EQ(status_name(signed_addresses.status), "Ok");
  EXPECT_TRUE(signed_addresses.secure);
  EXPECT_FALSE(addresses(*r, "mx1.example.test").secure);
  EXPECT_EQ(dns.ad_queries(), dns.total_queries());
}

TEST_F(DnsResolverTest, TlsaTable) {
  const std::string hash(32, '\x42');
  dns.add_tlsa("_25._tcp.mx.signed.test", 3, 1, 1, hash);
  dns.add_tlsa("_25._tcp.mx.signed.test", 2, 0, 1, hash);
  dns.set_secure("_25._tcp.mx.signed.test");
  dns.add_tlsa("_25._tcp.mx.plain.test", 3, 1, 1, hash);
  dns.set_rcode("_25._tcp.mx.bogus.test", FakeDnsServer::Rcode::ServFail);
  dns.add_name("_25._tcp.mx.none.test");
  dns.set_secure("_25._tcp.mx.none.test");
  auto r = make();
  ASSERT_TRUE(r);
  struct Case {
    std::string name;
    DnsStatus status;
    bool secure;
    size_t records;
  };
  const Case cases[] = {
      {"_25._tcp.mx.signed.test", DnsStatus::Ok, true, 2},
      {"_25._tcp.mx.plain.test", DnsStatus::Ok, false, 1},
      {"_25._tcp.mx.bogus.test", DnsStatus::TempFail, false, 0},  // what a validating resolver says for bogus data
      {"_25._tcp.mx.none.test", DnsStatus::NoRecords, true, 0},
      {"_25._tcp.mx.gone.test", DnsStatus::NxDomain, false, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const TlsaAnswer a = ask(*r, &DnsResolver::query_tlsa, c.name);
    EXPECT_EQ(status_name(a.status), status_name(c.status)) << a.detail;
    EXPECT_EQ(a.secure, c.secure);
    ASSERT_EQ(a.records.size(), c.records);
    if (c.records) {
      EXPECT_EQ(a.records[0], (TlsaRecord{3, 1, 1, hash}));
    }
  }
}

TEST_F(DnsResolverTest, TxtAndPtrTimeOutWithinTheBudget) {
  auto r = make(300ms);
  ASSERT_TRUE(r);
  const auto start = std::chrono::steady_clock::now();
  const TxtAnswer t = ask(*r, &DnsResolver::query_txt, "silent.test");
  const PtrAnswer p = ask(*r, &DnsResolver::query_ptr, "silent.test");
  EXPECT_LE(std::chrono::steady_clock::now() - start, 1000ms);
  EXPECT_EQ(status_name(t.status), "TempFail");
  EXPECT_EQ(status_name(p.status), "TempFail");
  EXPECT_NE(t.detail.find("timed out"), std::string::npos) << t.detail;
}

TEST_F(DnsResolverTest, SilentServerTimesOutWithinTheBudget) {
  auto r = make(300ms);
  ASSERT_TRUE(r);
  const auto start = std::chrono::steady_clock::now();
  const MxAnswer a = mx(*r, "silent.test");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status_name(a.status), "TempFail");
  EXPECT_NE(a.detail.find("timed out"), std::string::npos) << a.detail;
  EXPECT_GE(took, 250ms);  // it did wait (retries included) ...
  EXPECT_LE(took, 500ms);  // ... but not past the budget (plus timer and scheduling slack)
  EXPECT_GE(dns.query_count("silent.test", FakeDnsServer::kTypeMx), 2u);  // and retried within it

  const auto start2 = std::chrono::steady_clock::now();
  const AddressAnswer b = addresses(*r, "silent.test");
  EXPECT_LE(std::chrono::steady_clock::now() - start2, 500ms);
  EXPECT_EQ(status_name(b.status), "TempFail");
}

TEST_F(DnsResolverTest, OtherLookupsAreNotHeldUpByASilentOne) {
  auto r = make(1s);
  ASSERT_TRUE(r);
  std::optional<MxAnswer> silent, fast;
  r->query_mx("silent.test", [&](MxAnswer a) { silent = std::move(a); });
  r->query_mx("example.test", [&](MxAnswer a) { fast = std::move(a); });
  run_until(fast);
  ASSERT_TRUE(fast);
  EXPECT_EQ(status_name(fast->status), "Ok");
  EXPECT_FALSE(silent.has_value());
  run_until(silent);
  ASSERT_TRUE(silent);
  EXPECT_EQ(status_name(silent->status), "TempFail");
}

TEST_F(DnsResolverTest, IdleResolverLeavesNoWorkBehind) {
  // io.run() returns once the lookups are done, with the resolver still alive:
  // no timer or socket wait outlives them (a daemon can drain its io_context).
  auto r = make(5s);
  ASSERT_TRUE(r);
  int done = 0;
  r->query_mx("example.test", [&](MxAnswer) { ++done; });
  r->query_addresses("mx1.example.test", [&](AddressAnswer) { ++done; });
  const auto start = std::chrono::steady_clock::now();
  io.restart();
  io.run();
  EXPECT_EQ(done, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);  // the first retry would be at ~714 ms
}

TEST_F(DnsResolverTest, CallbackNeverRunsInsideTheCall) {
  auto r = make();
  ASSERT_TRUE(r);
  bool called = false;
  r->query_mx("example.test", [&](MxAnswer) { called = true; });
  EXPECT_FALSE(called);
  EXPECT_EQ(r->pending(), 1u);
  std::optional<bool> done;
  r->query_addresses("nowhere.test", [&](AddressAnswer) { done = true; });
  EXPECT_FALSE(done.has_value());
  run_until(done);
  EXPECT_TRUE(called);
}

TEST_F(DnsResolverTest, DestructionCancelsPendingLookups) {
  auto r = make(5s);
  ASSERT_TRUE(r);
  std::optional<MxAnswer> a;
  std::optional<AddressAnswer> b;
  r->query_mx("silent.test", [&](MxAnswer x) { a = std::move(x); });
  r->query_addresses("silent.test", [&](AddressAnswer x) { b = std::move(x); });
  io.restart();
  io.run_for(50ms);  // the queries are out on the wire
  EXPECT_FALSE(a || b);
  const auto start = std::chrono::steady_clock::now();
  r.reset();
  EXPECT_FALSE(a || b);  // posted, not run inside the destructor
  run_until(b);
  run_until(a);
  ASSERT_TRUE(a && b);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);  // not after the 5 s timeout
  EXPECT_EQ(status_name(a->status), "TempFail");
  EXPECT_EQ(a->detail, "cancelled");
  EXPECT_EQ(status_name(b->status), "TempFail");
}

TEST_F(DnsResolverTest, CallbackMayDestroyTheResolver) {
  auto r = make();
  ASSERT_TRUE(r);
  std::optional<MxAnswer> second;
  r->query_mx("example.test", [&](MxAnswer) { r.reset(); });
  r->query_mx("silent.test", [&](MxAnswer x) { second = std::move(x); });
  run_until(second);
  ASSERT_TRUE(second);
  EXPECT_FALSE(r);
  EXPECT_EQ(second->detail, "cancelled");
}

TEST_F(DnsResolverTest, ManyLookupsAtOnce) {
  auto r = make();
  ASSERT_TRUE(r);
  // All sent before the io_context runs: the answers arrive as a burst on
  // one UDP socket and must all be read (none left waiting for a retry).
  constexpr int kCount = 200;
  int ok = 0, nx = 0, done = 0;
  for (int i = 0; i < kCount; ++i) {
    const std::string name = i % 3 == 0 ? "nowhere" + std::to_string(i) + ".test" : "example.test";
    r->query_mx(name, [&](MxAnswer a) {
      ++done;
      if (a.status == DnsStatus::Ok && a.records.size() == 2) ++ok;
      if (a.status == DnsStatus::NxDomain) ++nx;
    });
  }
  EXPECT_EQ(r->pending(), static_cast<size_t>(kCount));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  io.restart();
  while (done < kCount && std::chrono::steady_clock::now() < deadline) io.run_one_for(50ms);
  EXPECT_EQ(done, kCount);
  constexpr int kNx = (kCount + 2) / 3;  // i = 0, 3, 6, ...
  EXPECT_EQ(nx, kNx);
  EXPECT_EQ(ok, kCount - kNx);
  EXPECT_EQ(r->pending(), 0u);
  EXPECT_EQ(dns.total_queries(), static_cast<size_t>(kCount));  // nothing was lost and retried
}

TEST_F(DnsResolverTest, PendingLookupsAreCapped) {
  auto r = make(5s);
  ASSERT_TRUE(r);
  size_t cancelled = 0, busy = 0;
  for (size_t i = 0; i < DnsResolver::kMaxPending; ++i)
    r->query_mx("silent.test", [&](const MxAnswer& a) { cancelled += a.detail == "cancelled"; });
  std::optional<AddressAnswer> refused;
  r->query_mx("example.test", [&](const MxAnswer& a) { busy += a.detail == "resolver busy"; });
  r->query_addresses("example.test", [&](AddressAnswer a) { refused = std::move(a); });
  EXPECT_EQ(r->pending(), DnsResolver::kMaxPending);
  run_until(refused);  // answered at once, long before the silent ones time out
  ASSERT_TRUE(refused);
  EXPECT_EQ(status_name(refused->status), "TempFail");
  EXPECT_EQ(refused->detail, "resolver busy");
  EXPECT_EQ(busy, 1u);
  r.reset();
  io.restart();
  io.run_for(200ms);
  EXPECT_EQ(cancelled, DnsResolver::kMaxPending);
}

TEST_F(DnsResolverTest, CreateRefusesBadServers) {
  for (const char* bad : {"dns.example.com:53", "[::1", "127.0.0.1:0", "127.0.0.1:99999", "::1:53", "1.2.3.4.5"}) {
    SCOPED_TRACE(bad);
    auto r = DnsResolver::create(io, bad, 1s);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(r.error().message.empty());
  }
  for (const char* good : {"", "127.0.0.1", "[::1]:5353", "[127.0.0.1]:53"}) {
    SCOPED_TRACE(good);
    auto r = DnsResolver::create(io, good, 1s);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  }
}

}  // namespace
}  // namespace volley::delivery
