// `volley doctor`'s decisions over a table Resolver: a good zone passes
// every check and rule; each broken variant fails the right check with the
// right fix; DNS trouble (SERVFAIL, a resolver that never answers) is a
// FAIL "temporary DNS error" within the time bound, never a pass.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "dkim/keygen.hpp"
#include "doctor/probe.hpp"
#include "doctor/report.hpp"
#include "table_resolver.hpp"

namespace volley::doctor {
namespace {

using namespace std::chrono_literals;
using delivery::AddressAnswer;
using delivery::DnsStatus;
using delivery::TxtAnswer;

const dmarc::PublicSuffixList& psl() {
  static auto list = dmarc::PublicSuffixList::load();
  return *list.value();
}

std::string new_key_record() {
  auto key = dkim::generate_key(dkim::Algorithm::Ed25519Sha256, 0);
  return dkim::key_record_text(*key.value()).value();
}

using test::ips;
using test::txt;

constexpr const char* kPolicy = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n";

// A zone and the doctor's options, good until a test breaks something.
struct Zone {
  asio::io_context io;
  test::TableResolver dns{io};
  ProbeOptions o;
  std::string key_record = new_key_record();
  Result<std::string> policy = std::string(kPolicy);
  std::vector<std::string> fetched_from;

  // The good zone: every check passes.
  Zone() {
    o.domain = "example.com";
    o.hostname = "mail.example.com";
    o.addresses = {"192.0.2.10"};
    o.dkim = {{"example.com", "s1", "/keys/s1.pem", key_record}};
    o.dns_timeout = 1s;
    o.total_timeout = 10s;
    dns.txt["example.com"] = txt({"google-site-verification=x", "v=spf1 mx ip4:192.0.2.10 -all"});
    dns.txt["s1._domainkey.example.com"] = txt({key_record});
    dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=none; rua=mailto:d@example.com"});
    dns.ptr["10.2.0.192.in-addr.arpa"] = {DnsStatus::Ok, {"mail.example.com"}, ""};
    dns.addresses["mail.example.com"] = ips({"192.0.2.10"});
    dns.mx["example.com"] = {DnsStatus::Ok, {{10, "mail.example.com"}}, ""};
    dns.txt["_mta-sts.example.com"] = txt({"v=STSv1; id=20250101"});
    dns.addresses["mta-sts.example.com"] = ips({"192.0.2.20"});
  }

  Report run() {
    std::optional<Report> out;
    PolicyFetcher fetch = [this](const std::string& domain, const mta_sts::FetchOptions& fo) {
      for (const auto& a : fo.addresses) fetched_from.push_back(domain + "@" + a);
      return policy;
    };
    asio::co_spawn(io, probe(dns, o, psl(), fetch), [&](std::exception_ptr e, Report r) {
      if (e) std::rethrow_exception(e);
      out = std::move(r);
    });
    io.restart();
    io.run_for(20s);
    EXPECT_TRUE(out.has_value());
    return out.value_or(Report{});
  }

};

const Finding& find(const std::vector<Finding>& list, const std::string& name) {
  for (const auto& f : list)
    if (f.name == name) return f;
  static const Finding missing{"(missing)", Status::Fail, "no such line", ""};
  ADD_FAILURE() << "no line named " << name;
  return missing;
}

std::vector<std::string> failing(const Report& r) {
  std::vector<std::string> out;
  for (const auto& f : r.checks)
    if (f.status == Status::Fail) out.push_back(f.name);
  return out;
}

TEST(DoctorTest, GoodZonePassesEveryCheckAndRule) {
  Zone z;
  const Report r = z.run();
  for (const auto& f : r.checks) EXPECT_EQ(f.status, Status::Pass) << f.name << ": " << f.detail;
  for (const auto& f : r.rules) EXPECT_NE(f.status, Status::Fail) << f.name << ": " << f.detail;
  EXPECT_TRUE(r.passed());
  std::vector<std::string> names;
  for (const auto& f : r.checks) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"spf record", "spf 192.0.2.10", "dkim s1._domainkey.example.com",
                                             "dmarc record", "dmarc alignment", "reverse dns 192.0.2.10", "mx",
                                             "mta-sts record", "mta-sts policy"}));
  EXPECT_NE(find(r.checks, "dmarc record").detail.find("p=none meets"), std::string::npos);
  EXPECT_EQ(z.fetched_from, (std::vector<std::string>{"example.com@192.0.2.20"}));
  EXPECT_EQ(r.rules.size(), 8u);
  EXPECT_EQ(find(r.rules, "TLS for transmission (Gmail)").status, Status::Pass);
}

// One broken variant of the good zone each: the checks that must fail, and
// text that must appear in the first one's detail and fix.
struct Broken {
  const char* name;
  std::function<void(Zone&)> breaks;
  std::vector<std::string> failing;
  std::string detail, fix;
};

const std::vector<Broken>& broken_zones() {
  static const std::vector<Broken> cases = {
      {"spf misses the address",
       [](Zone& t) { t.dns.txt["example.com"] = txt({"v=spf1 ip4:192.0.2.99 -all"}); },
       {"spf 192.0.2.10"},
       "gets SPF fail",
       "publish example.com. IN TXT \"v=spf1 ip4:192.0.2.99 ip4:192.0.2.10 -all\""},
      {"no spf record", [](Zone& t) { t.dns.txt["example.com"] = txt({"other"}); },
       {"spf record"}, "no SPF record at example.com", "\"v=spf1 ip4:192.0.2.10 ~all\""},
      {"two spf records",
       [](Zone& t) { t.dns.txt["example.com"] = txt({"v=spf1 -all", "v=spf1 ip4:192.0.2.10 -all"}); },
       {"spf record"}, "2 SPF records", "merge them"},
      {"spf does not parse", [](Zone& t) { t.dns.txt["example.com"] = txt({"v=spf1 ip4:nonsense -all"}); },
       {"spf record"}, "does not parse", "correct it"},
      {"spf servfail", [](Zone& t) { t.dns.txt["example.com"] = {DnsStatus::TempFail, {}, "SERVFAIL"}; },
       {"spf record"}, "temporary DNS error looking up TXT example.com: SERVFAIL", ""},
      {"dkim record of another key",
       [](Zone& t) { t.dns.txt["s1._domainkey.example.com"] = txt({new_key_record()}); },
       {"dkim s1._domainkey.example.com"}, "is not the public half of /keys/s1.pem", "publish s1._domainkey.example.com. IN TXT"},
      {"no dkim record", [](Zone& t) { t.dns.txt.erase("s1._domainkey.example.com"); },
       {"dkim s1._domainkey.example.com"}, "no DKIM key record", "k=ed25519"},
      {"dkim record does not parse", [](Zone& t) { t.dns.txt["s1._domainkey.example.com"] = txt({"v=DKIM1; k=rsa; p=!!"}); },
       {"dkim s1._domainkey.example.com"}, "does not parse", "publish"},
      {"dkim key cannot be loaded",
       [](Zone& t) { t.o.dkim[0].record_text = Error("cannot read /keys/s1.pem: No such file"); },
       {"dkim s1._domainkey.example.com"}, "cannot be used: cannot read", "volley dkim keygen --domain example.com --selector s1"},
      {"no dkim entry", [](Zone& t) { t.o.dkim.clear(); },
       {"dkim"}, "no [[dkim]] entry signs for example.com", "volley dkim keygen --domain example.com"},
      {"no dmarc", [](Zone& t) { t.dns.txt.erase("_dmarc.example.com"); },
       {"dmarc record"}, "no DMARC record at _dmarc.example.com",
       "publish _dmarc.example.com. IN TXT \"v=DMARC1; p=none\""},
      {"dmarc does not parse", [](Zone& t) { t.dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=maybe"}); },
       {"dmarc record"}, "does not parse", "v=DMARC1; p=none"},
      {"ptr names another host",
       [](Zone& t) {
         t.dns.ptr["10.2.0.192.in-addr.arpa"] = {DnsStatus::Ok, {"host.provider.example"}, ""};
         t.dns.addresses["host.provider.example"] = t.dns.addresses["mail.example.com"];
       },
       {"reverse dns 192.0.2.10"}, "server.hostname (Volley's EHLO name) is \"mail.example.com\"",
       "set server.hostname = \"host.provider.example\""},
      {"ptr not forward-confirmed",
       [](Zone& t) { t.dns.addresses["mail.example.com"] = ips({"192.0.2.11"}); },
       {"reverse dns 192.0.2.10"}, "does not resolve back", "publish mail.example.com. IN A 192.0.2.10"},
      {"no ptr", [](Zone& t) { t.dns.ptr.clear(); },
       {"reverse dns 192.0.2.10"}, "has no PTR record", "10.2.0.192.in-addr.arpa -> mail.example.com"},
      {"mx is an ip literal",
       [](Zone& t) { t.dns.mx["example.com"] = {DnsStatus::Ok, {{10, "192.0.2.1"}}, ""}; },
       {"mx"}, "is an IP address", "IN MX 10 mail.example.com."},
      {"null mx", [](Zone& t) { t.dns.mx["example.com"] = {DnsStatus::Ok, {{0, ""}}, ""}; },
       {"mx"}, "null MX", "IN MX 10"},
      {"mx target without address",
       [](Zone& t) { t.dns.mx["example.com"] = {DnsStatus::Ok, {{10, "gone.example.com"}}, ""}; },
       {"mx", "mta-sts policy"}, "MX gone.example.com has no A/AAAA record", ""},
      {"malformed mta-sts record", [](Zone& t) { t.dns.txt["_mta-sts.example.com"] = txt({"v=STSv1; id=not valid!"}); },
       {"mta-sts record"}, "does not parse", "_mta-sts.example.com. IN TXT \"v=STSv1; id="},
      {"mta-sts policy cannot be fetched", [](Zone& t) { t.policy = Error(ErrorCode::Invalid, "certificate verify failed"); },
       {"mta-sts policy"}, "cannot fetch https://mta-sts.example.com/.well-known/mta-sts.txt: certificate verify failed",
       "certificate valid for mta-sts.example.com"},
      {"mta-sts policy does not parse", [](Zone& t) { t.policy = std::string("version: STSv2\n"); },
       {"mta-sts policy"}, "does not parse", "version: STSv1"},
      {"mta-sts policy misses the mx",
       [](Zone& t) { t.policy = std::string("version: STSv1\nmode: enforce\nmx: other.example.net\nmax_age: 60\n"); },
       {"mta-sts policy"}, "MX mail.example.com matches no mx: line", "add mx: mail.example.com"},
      {"no sending address", [](Zone& t) { t.o.addresses.clear(); t.o.addresses_unknown = "no route"; },
       {"sending addresses"},
       "unknown: no route", "--address IP"},
  };
  return cases;
}

TEST(DoctorTest, EachBrokenZoneFailsTheRightCheckWithItsFix) {
  for (const auto& c : broken_zones()) {
    SCOPED_TRACE(c.name);
    Zone t;
    c.breaks(t);
    const Report r = t.run();
    EXPECT_FALSE(r.passed());
    const Finding& f = find(r.checks, c.failing.front());
    EXPECT_EQ(f.status, Status::Fail);
    EXPECT_NE(f.detail.find(c.detail), std::string::npos) << f.detail;
    EXPECT_NE(f.fix.find(c.fix), std::string::npos) << f.fix;
    for (const auto& name : failing(r)) {
      if (name == "dmarc alignment") continue;  // follows from SPF / DKIM: asserted separately
      EXPECT_NE(std::find(c.failing.begin(), c.failing.end(), name), c.failing.end()) << "also failed: " << name;
    }
  }
}

TEST(DoctorTest, DmarcAlignmentNeedsAnAlignedPassingIdentifier) {
  // news.example.com: no policy of its own, the organizational domain's
  // applies; DKIM signs with the parent's key.
  Zone z;
  z.o.domain = "news.example.com";
  z.o.dkim[0].domain = "example.com";
  z.dns.txt["news.example.com"] = txt({"v=spf1 ip4:192.0.2.99 -all"});  // SPF fails
  z.dns.mx["news.example.com"] = z.dns.mx["example.com"];
  z.dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject; adkim=s"});
  Report r = z.run();
  EXPECT_NE(find(r.checks, "dmarc record").detail.find("_dmarc.example.com: p=reject adkim=s"), std::string::npos);
  const Finding& strict = find(r.checks, "dmarc alignment");
  EXPECT_EQ(strict.status, Status::Fail);
  EXPECT_NE(strict.detail.find("DKIM d=example.com not aligned (adkim=s)"), std::string::npos) << strict.detail;
  EXPECT_NE(strict.fix.find("[[dkim]] entry for news.example.com"), std::string::npos) << strict.fix;
  EXPECT_EQ(find(r.rules, "From domain aligned with SPF or DKIM (Gmail, Yahoo, Microsoft)").status, Status::Fail);

  Zone relaxed;
  relaxed.o.domain = "news.example.com";
  relaxed.o.dkim[0].domain = "example.com";
  relaxed.dns.txt["news.example.com"] = txt({"v=spf1 ip4:192.0.2.99 -all"});
  relaxed.dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
  r = relaxed.run();
  EXPECT_EQ(find(r.checks, "dmarc alignment").status, Status::Pass) << find(r.checks, "dmarc alignment").detail;
  EXPECT_EQ(find(r.checks, "spf 192.0.2.10").status, Status::Fail);
}

TEST(DoctorTest, ForwardConfirmedOtherNameFailsTheCheckButPassesTheRule) {
  Zone z;
  z.dns.ptr["10.2.0.192.in-addr.arpa"] = {DnsStatus::Ok, {"host.provider.example"}, ""};
  z.dns.addresses["host.provider.example"] = ips({"192.0.2.10"});
  const Report r = z.run();
  EXPECT_EQ(find(r.checks, "reverse dns 192.0.2.10").status, Status::Fail);
  EXPECT_EQ(find(r.rules, "Valid forward and reverse DNS of the sending addresses (Gmail, Yahoo)").status, Status::Pass);
  EXPECT_FALSE(r.passed());
}

TEST(DoctorTest, DeliveryWithoutTlsFailsTheTlsRule) {
  Zone z;
  z.o.delivery_tls = "none";
  const Report r = z.run();
  const Finding& tls = find(r.rules, "TLS for transmission (Gmail)");
  EXPECT_EQ(tls.status, Status::Fail);
  EXPECT_NE(tls.fix.find("delivery.tls = \"opportunistic\""), std::string::npos);
  EXPECT_FALSE(r.passed());
}

TEST(DoctorTest, ResolverThatNeverAnswersIsATemporaryFailureWithinTheBound) {
  Zone z;
  z.o.dns_timeout = 100ms;
  z.dns.silent.insert("_dmarc.example.com");
  z.dns.silent.insert("example.com");  // TXT (SPF) and MX
  const auto start = std::chrono::steady_clock::now();
  const Report r = z.run();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 3s);
  for (const char* name : {"spf record", "dmarc record", "mx"}) {
    const Finding& f = find(r.checks, name);
    EXPECT_EQ(f.status, Status::Fail) << name;
    EXPECT_NE(f.detail.find("temporary DNS error"), std::string::npos) << f.detail;
    EXPECT_NE(f.detail.find("timed out after 100 ms"), std::string::npos) << f.detail;
  }
  EXPECT_FALSE(r.passed());
}

TEST(DoctorTest, TotalTimeBoundsTheRun) {
  Zone z;
  z.o.dns_timeout = 10s;
  z.o.total_timeout = 300ms;
  for (const char* n : {"example.com", "s1._domainkey.example.com", "_dmarc.example.com", "10.2.0.192.in-addr.arpa"})
    z.dns.silent.insert(n);
  const auto start = std::chrono::steady_clock::now();
  const Report r = z.run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_NE(find(r.checks, "reverse dns 192.0.2.10").detail.find("total time ran out"), std::string::npos);
  EXPECT_FALSE(r.passed());
}

TEST(DoctorTest, SpfRecordWithAddsOnlyMissingAddressesBeforeAll) {
  struct Case {
    std::string record;
    std::vector<std::string> addresses;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"", {"192.0.2.1"}, "v=spf1 ip4:192.0.2.1 ~all"},
      {"v=spf1 mx -all", {"192.0.2.1", "2001:db8::1"}, "v=spf1 mx ip4:192.0.2.1 ip6:2001:db8::1 -all"},
      {"v=spf1 ip4:192.0.2.0/24 -all", {"192.0.2.7"}, "v=spf1 ip4:192.0.2.0/24 -all"},
      {"v=spf1 +ip4:192.0.2.7 ~all", {"192.0.2.7", "192.0.2.8"}, "v=spf1 +ip4:192.0.2.7 ip4:192.0.2.8 ~all"},
      {"v=spf1 include:_spf.example.net redirect=_spf.example.com", {"192.0.2.1"},
       "v=spf1 include:_spf.example.net ip4:192.0.2.1 redirect=_spf.example.com"},
      {"v=spf1 a", {"192.0.2.1"}, "v=spf1 a ip4:192.0.2.1"},
  };
  for (const auto& c : cases) EXPECT_EQ(spf_record_with(c.record, c.addresses), c.want) << c.record;
}


TEST(DoctorTest, ReportsEscapeWhatDnsSent) {
  Report r;
  r.domain = "example.com";
  r.checks.push_back({"spf record", Status::Fail, "bad \"record\" \x1b[31m\xff\n", "publish \"v=spf1 -all\""});
  r.rules.push_back({"rule", Status::Info, "per message", ""});
  const auto j = nlohmann::json::parse(render_json(r));
  EXPECT_EQ(j["overall"], "fail");
  EXPECT_EQ(j["checks"][0]["name"], "spf record");
  EXPECT_EQ(j["checks"][0]["status"], "fail");
  EXPECT_EQ(j["checks"][0]["fix"], "publish \"v=spf1 -all\"");
  EXPECT_EQ(j["rules"][0]["status"], "info");
  const std::string text = render_text(r);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL  spf record: bad \"record\""), std::string::npos) << text;
  EXPECT_NE(text.find("      fix: publish"), std::string::npos) << text;
  EXPECT_NE(text.find("overall: FAIL (1 checks and 0 rules failed)"), std::string::npos) << text;
}

// What DNS sends is hostile: random bytes in every TXT, PTR and MX answer
// the verdicts read give FAIL lines (or a pass where the bytes happen to be
// fine), never a crash, and the report stays valid JSON.
TEST(DoctorTest, GarbageAnswersNeverCrashAndKeepTheReportValid) {
  std::mt19937 rng(20250101);
  auto garbage = [&](size_t max) {
    static const std::string pieces[] = {"v=spf1 ", "v=DKIM1; ", "v=STSv1; ", "ip4:", "ip6:", "/", "-all", " ",
                                         "p=", "k=", "id=", "redirect=", "include:", "\xff", "\x00", "\"", "\\",
                                         "\x1b[2J", "::", "192.0.2.10", "a", ";", "=", "%{i}"};
    std::string s;
    const size_t n = rng() % max;
    for (size_t i = 0; i < n; ++i)
      s += (rng() % 3) ? pieces[rng() % std::size(pieces)] : std::string(1, static_cast<char>(rng() % 256));
    return s;
  };
  for (int round = 0; round < 300; ++round) {
    Zone z;
    z.dns.txt["example.com"] = txt({garbage(40), garbage(40)});
    z.dns.txt["s1._domainkey.example.com"] = txt({garbage(30)});
    z.dns.txt["_dmarc.example.com"] = txt({"v=DMARC1; " + garbage(20)});
    z.dns.txt["_mta-sts.example.com"] = txt({"v=STSv1; " + garbage(10)});
    z.dns.ptr["10.2.0.192.in-addr.arpa"] = {DnsStatus::Ok, {garbage(20)}, ""};
    z.dns.mx["example.com"] = {DnsStatus::Ok, {{10, garbage(20)}}, ""};
    z.policy = garbage(60);
    const Report r = z.run();
    ASSERT_FALSE(r.checks.empty());
    EXPECT_TRUE(nlohmann::json::accept(render_json(r)));
    EXPECT_EQ(render_text(r).find('\x1b'), std::string::npos);
    (void)spf_record_with(garbage(80), {"192.0.2.10", "2001:db8::1"});
  }
}

}  // namespace
}  // namespace volley::doctor
