// The SPF evaluator's own tables: record syntax, macro expansion (the RFC
// 7208 7.4 examples), and the limits of 4.6.4 and limits.hpp, evaluated
// against a zone held in a map. The RFC's test suite is spf_suite_test.cpp.
#include <gtest/gtest.h>

#include <map>

#include "spf/evaluator.hpp"
#include "spf/limits.hpp"
#include "spf/macro.hpp"
#include "spf/record.hpp"

namespace volley::spf {
namespace {

using delivery::DnsStatus;

// ---- record syntax ----

struct RecordCase {
  std::string text;
  bool ok;
  std::string error_has;  // when !ok
};

TEST(SpfRecord, Syntax) {
  const RecordCase cases[] = {
      {"v=spf1", true, ""},
      {"v=spf1 -all", true, ""},
      {"V=SPF1 +ALL", true, ""},
      {"v=spf1  a  mx   -all ", true, ""},
      {"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip4:192.0.2.1 -all", true, ""},
      {"v=spf1 a/24//64 mx:example.com/0 ptr ptr:example.com exists:%{i}.x.example.com", true, ""},
      {"v=spf1 include:_spf.example.com ~all", true, ""},
      {"v=spf1 redirect=_spf.example.com exp=explain.%{d}", true, ""},
      {"v=spf1 moo=bar match.sub-domains_9=yes -all", true, ""},
      {"v=spf1 a:%{d}", true, ""},
      {"v=spf1 a:example.com.", true, ""},
      {"v=spf1 a:123-45.example.1-2", true, ""},
      {"v=spf1 foo", false, "unknown mechanism"},
      {"v=spf1 =a", false, "unknown mechanism"},
      {"v=spf1 include", false, "missing domain"},
      {"v=spf1 include:", false, "empty domain-spec"},
      {"v=spf1 exists", false, "missing domain"},
      {"v=spf1 -all:3030", false, "all takes no arguments"},
      {"v=spf1 ip4:192.0.2.1/33", false, "CIDR"},
      {"v=spf1 ip4:192.0.2.1/024", false, "CIDR"},
      {"v=spf1 ip4:192.0.2.1//64", false, "CIDR"},
      {"v=spf1 ip4:192.0.2", false, "IPv4"},
      {"v=spf1 ip4:1.2.03.4", false, "IPv4"},
      {"v=spf1 ip6:1.2.3.4", false, "IPv6"},
      {"v=spf1 ip6:2001:db8:zzzz::", false, "IPv6"},
      {"v=spf1 ip6:::1/129", false, "CIDR"},
      {"v=spf1 a/33", false, "IPv4 CIDR"},
      {"v=spf1 a//129", false, "IPv6 CIDR"},
      {"v=spf1 a:example", false, "fully qualified"},
      {"v=spf1 a:foo.123", false, "top label"},
      {"v=spf1 a:foo.-bar", false, "top label"},
      {"v=spf1 a:example.com:8080", false, "top label"},
      {"v=spf1 a:%{c}.example.com", false, "only allowed in explanations"},
      {"v=spf1 a:%{d0}.example.com", false, "0"},
      {"v=spf1 a:%{z}.example.com", false, "unknown macro letter"},
      {"v=spf1 a:%{d.example.com", false, "'}'"},
      {"v=spf1 a:50%.example.com", false, "'%'"},
      {"v=spf1 moo=%{z}", false, "unknown macro letter"},
      {"v=spf1 redirect=a.example.com redirect=b.example.com", false, "more than once"},
      {"v=spf1 exp=a.example.com exp=b.example.com", false, "more than once"},
      {"v=spf1 exp=", false, "empty domain-spec"},
      {"v=spf1 a:example.com\t-all", false, "invalid character"},
      {"v=spf1 a:ex\xc3\xa4mple.com", false, "invalid character"},
      {"v=spf1 " + std::string(limits::kMaxRecordBytes, 'a'), false, "too long"},
      {"v=spf10 -all", false, "not an SPF record"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text.substr(0, 100));
    auto r = parse_record(c.text);
    EXPECT_EQ(r.ok(), c.ok) << (r.ok() ? "" : r.error().message);
    if (!r.ok() && !c.ok) {
      EXPECT_NE(r.error().message.find(c.error_has), std::string::npos) << r.error().message;
      EXPECT_EQ(r.error().code, ErrorCode::Invalid);
    }
  }
}

TEST(SpfRecord, TooManyTerms) {
  std::string text = "v=spf1";
  for (size_t i = 0; i < limits::kMaxTerms; ++i) text += " ?all";
  EXPECT_TRUE(parse_record(text).ok());
  EXPECT_FALSE(parse_record(text + " -all").ok());
}

TEST(SpfRecord, TermsAreParsedInOrderWithTheirArguments) {
  auto r = parse_record("v=spf1 -a:mail.example.com/24//64 ~mx ip4:192.0.2.0/25 ?ip6:2001:db8::/48 redirect=x.example.com");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->mechanisms.size(), 4u);
  EXPECT_EQ(r->mechanisms[0].qualifier, Qualifier::Fail);
  EXPECT_EQ(r->mechanisms[0].kind, MechanismKind::A);
  EXPECT_EQ(r->mechanisms[0].domain_spec, "mail.example.com");
  EXPECT_EQ(r->mechanisms[0].cidr4, 24u);
  EXPECT_EQ(r->mechanisms[0].cidr6, 64u);
  EXPECT_EQ(r->mechanisms[1].qualifier, Qualifier::SoftFail);
  EXPECT_EQ(r->mechanisms[1].domain_spec, "");
  EXPECT_EQ(r->mechanisms[2].cidr4, 25u);
  EXPECT_EQ(r->mechanisms[3].qualifier, Qualifier::Neutral);
  EXPECT_EQ(r->mechanisms[3].cidr6, 48u);
  EXPECT_EQ(r->redirect.value_or(""), "x.example.com");
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("V=Spf1 -all"));
  EXPECT_FALSE(is_spf_record("v=spf1-all"));
  EXPECT_FALSE(is_spf_record("spf1"));
}

TEST(SpfRecord, PrefixMatching) {
  const auto ip = [](const char* t) { return *net::IpAddress::parse(t); };
  EXPECT_TRUE(prefix_matches(ip("192.0.2.0"), ip("192.0.2.255"), 24));
  EXPECT_FALSE(prefix_matches(ip("192.0.2.0"), ip("192.0.3.0"), 24));
  EXPECT_TRUE(prefix_matches(ip("192.0.2.0"), ip("10.0.0.1"), 0));
  EXPECT_TRUE(prefix_matches(ip("192.0.2.128"), ip("192.0.2.129"), 25));
  EXPECT_FALSE(prefix_matches(ip("192.0.2.128"), ip("192.0.2.1"), 25));
  EXPECT_TRUE(prefix_matches(ip("2001:db8::"), ip("2001:db8:0:1::5"), 48));
  EXPECT_FALSE(prefix_matches(ip("2001:db8::"), ip("2001:db9::"), 32));
  EXPECT_FALSE(prefix_matches(ip("::"), ip("192.0.2.1"), 0));  // families never mix
  EXPECT_TRUE(prefix_matches(ip("192.0.2.1"), ip("::ffff:192.0.2.1"), 32));  // mapped is IPv4
}

// ---- macros ----

MacroValues rfc_example_values(const char* client) {
  MacroValues v;
  v.sender = "strong-bad@email.example.com";
  v.local = "strong-bad";
  v.sender_domain = v.domain = "email.example.com";
  const auto ip = *net::IpAddress::parse(client);
  v.ip = macro_ip(ip);
  v.ip_version = ip.is_v4 ? "in-addr" : "ip6";
  v.helo = "mx.example.org";
  v.client_ip = ip.to_string();
  v.receiver = "receiver.example.net";
  return v;
}

TEST(SpfMacro, Rfc7208Examples) {
  const MacroValues v4 = rfc_example_values("192.0.2.3");
  const std::pair<const char*, const char*> cases[] = {
      {"%{s}", "strong-bad@email.example.com"},
      {"%{o}", "email.example.com"},
      {"%{d}", "email.example.com"},
      {"%{d4}", "email.example.com"},
      {"%{d3}", "email.example.com"},
      {"%{d2}", "example.com"},
      {"%{d1}", "com"},
      {"%{dr}", "com.example.email"},
      {"%{d2r}", "example.email"},
      {"%{l}", "strong-bad"},
      {"%{l-}", "strong.bad"},
      {"%{lr}", "strong-bad"},
      {"%{lr-}", "bad.strong"},
      {"%{l1r-}", "strong"},
      {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
      {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
      {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
      {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
      {"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
      {"%{S}", "strong-bad%40email.example.com"},
      {"%%%_%-", "% %20"},
      {"%{h}.%{p}", "mx.example.org.unknown"},
      {"%{c} %{r}", "192.0.2.3 receiver.example.net"},
      {"%{d999}", "email.example.com"},
      {"%{l2r+-}", "bad.strong"},
  };
  for (const auto& [in, want] : cases) {
    auto r = expand_macros(in, v4);
    ASSERT_TRUE(r.ok()) << in << ": " << r.error().message;
    EXPECT_EQ(r.value(), want) << in;
  }
  const MacroValues v6 = rfc_example_values("2001:db8::cb01");
  auto r = expand_macros("%{ir}.%{v}._spf.%{d2}", v6);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
  EXPECT_EQ(expand_macros("%{c}", v6).value(), "2001:db8::cb01");
}

TEST(SpfMacro, SyntaxErrors) {
  for (const char* bad : {"%", "%a", "%{", "%{d", "%{d0}", "%{x}", "%{d2r.", "\x01"}) {
    EXPECT_FALSE(check_macro_string(bad, true).ok()) << bad;
  }
  EXPECT_FALSE(check_macro_string("%{t}", false).ok());
  EXPECT_FALSE(check_macro_string("a b", false).ok());  // spaces only in explanations
  EXPECT_TRUE(check_macro_string("a b", true).ok());
  EXPECT_TRUE(check_macro_string("%{t}", true).ok());
  EXPECT_TRUE(check_macro_string("", false).ok());
}

TEST(SpfMacro, ExpansionIsBounded) {
  MacroValues v = rfc_example_values("192.0.2.3");
  v.local = std::string(200, 'x');
  std::string many;
  for (int i = 0; i < 64; ++i) many += "%{l}";
  auto r = expand_macros(many, v);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too long"), std::string::npos);
}

TEST(SpfMacro, LongNamesLoseLabelsFromTheLeft) {
  std::string name;
  for (int i = 0; i < 60; ++i) name += "label" + std::to_string(i) + ".";
  name += "example.com.";
  const std::string cut = domain_to_query(name);
  EXPECT_LE(cut.size(), limits::kMaxDomainName);
  EXPECT_TRUE(cut.ends_with(".example.com"));
  EXPECT_TRUE(name.find(cut) != std::string::npos && name[name.find(cut) - 1] == '.');
  EXPECT_EQ(domain_to_query("example.com."), "example.com");
  EXPECT_TRUE(is_valid_lookup_name("a.example.com"));
  EXPECT_FALSE(is_valid_lookup_name("a..example.com"));
  EXPECT_FALSE(is_valid_lookup_name(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(is_valid_lookup_name(""));
}

// ---- evaluation against a table ----

struct Zone {
  std::map<DnsQuestion, DnsReply> answers;  // anything else is NXDOMAIN
  void txt(const std::string& name, std::string record) { add(DnsType::Txt, name, std::move(record)); }
  void a(const std::string& name, std::string ip) { add(DnsType::A, name, std::move(ip)); }
  void add(DnsType t, const std::string& name, std::string value) {
    auto& r = answers[{t, name}];
    r.status = DnsStatus::Ok;
    r.records.push_back(std::move(value));
  }
  void fail(DnsType t, const std::string& name) { answers[{t, name}] = {DnsStatus::TempFail, {}}; }
};

struct Outcome {
  SpfResult result;
  std::vector<DnsQuestion> asked;
};

Outcome evaluate(const Zone& zone, const std::string& mail_from, const char* client = "192.0.2.1",
             const std::string& helo = "mail.example.com") {
  SpfEvaluator e({*net::IpAddress::parse(client), helo, mail_from, "receiver.example.net"});
  Outcome run;
  while (true) {
    auto step = e.next();
    if (auto* r = std::get_if<SpfResult>(&step)) {
      run.result = *r;
      return run;
    }
    const auto q = std::get<DnsQuestion>(step);
    run.asked.push_back(q);
    if (run.asked.size() > limits::kMaxDnsQueries) {
      ADD_FAILURE() << "more questions than the bound";
      return run;
    }
    auto it = zone.answers.find(q);
    e.answer(q, it == zone.answers.end() ? DnsReply{DnsStatus::NxDomain, {}} : it->second);
  }
}

struct EvalCase {
  std::string name;
  std::string record;  // of example.com
  SpfVerdict want;
  std::string mechanism;  // expected deciding term ("" = any)
};

TEST(SpfEvaluator, Table) {
  Zone zone;
  zone.a("mail.example.com", "192.0.2.1");
  zone.add(DnsType::Mx, "example.com", "mail.example.com");
  zone.txt("pass.example.net", "v=spf1 +all");
  zone.txt("fail.example.net", "v=spf1 -all");
  zone.txt("broken.example.net", "v=spf1 moo");
  zone.txt("empty.example.net", "not spf");
  zone.fail(DnsType::Txt, "tempfail.example.net");
  zone.fail(DnsType::A, "tempfail.example.net");
  zone.a("exists.example.net", "127.0.0.2");
  zone.add(DnsType::Ptr, "1.2.0.192.in-addr.arpa", "mail.example.com");
  const EvalCase cases[] = {
      {"ip4 pass", "v=spf1 ip4:192.0.2.0/24 -all", SpfVerdict::Pass, "ip4:192.0.2.0/24"},
      {"ip4 miss", "v=spf1 ip4:198.51.100.0/24 -all", SpfVerdict::Fail, "-all"},
      {"softfail", "v=spf1 ~all", SpfVerdict::SoftFail, "~all"},
      {"neutral default", "v=spf1 ip4:198.51.100.1", SpfVerdict::Neutral, ""},
      {"a of another name", "v=spf1 a:mail.example.com -all", SpfVerdict::Pass, "a:mail.example.com"},
      {"a with cidr", "v=spf1 -a:mail.example.com/30 +all", SpfVerdict::Fail, "-a:mail.example.com/30"},
      {"mx", "v=spf1 mx -all", SpfVerdict::Pass, "mx"},
      {"ptr", "v=spf1 ptr:example.com -all", SpfVerdict::Pass, "ptr:example.com"},
      {"exists", "v=spf1 exists:exists.example.net -all", SpfVerdict::Pass, ""},
      {"include pass", "v=spf1 include:pass.example.net -all", SpfVerdict::Pass, "include:pass.example.net"},
      {"include fail is no match", "v=spf1 include:fail.example.net ?all", SpfVerdict::Neutral, "?all"},
      {"include without record", "v=spf1 include:empty.example.net +all", SpfVerdict::PermError, ""},
      {"include of broken record", "v=spf1 include:broken.example.net +all", SpfVerdict::PermError, ""},
      {"include tempfail", "v=spf1 include:tempfail.example.net +all", SpfVerdict::TempError, ""},
      {"a tempfail is never pass", "v=spf1 a:tempfail.example.net +all", SpfVerdict::TempError, ""},
      {"redirect", "v=spf1 redirect=fail.example.net", SpfVerdict::Fail, "-all"},
      {"redirect ignored after all", "v=spf1 +all redirect=fail.example.net", SpfVerdict::Pass, "+all"},
      {"redirect without record", "v=spf1 redirect=empty.example.net", SpfVerdict::PermError, ""},
      {"syntax error after a match", "v=spf1 +all moo", SpfVerdict::PermError, ""},
      {"exp parsed, not evaluated", "v=spf1 -all exp=explain.%{d}", SpfVerdict::Fail, "-all"},
      {"macro target", "v=spf1 exists:%{d1}xists.example.net ?all", SpfVerdict::Neutral, "?all"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Zone z = zone;
    z.txt("example.com", c.record);
    const Outcome run = evaluate(z, "user@example.com");
    EXPECT_STREQ(verdict_name(run.result.verdict), verdict_name(c.want)) << run.result.reason;
    if (!c.mechanism.empty()) {
      EXPECT_EQ(run.result.mechanism, c.mechanism);
    }
    EXPECT_EQ(run.result.domain, "example.com");
    EXPECT_FALSE(run.result.reason.empty());
  }
}

TEST(SpfEvaluator, RecordSelection) {
  Zone zone;
  zone.txt("two.example", "v=spf1 +all");
  zone.txt("two.example", "v=spf1 -all");
  zone.txt("other.example", "google-site-verification=x");
  zone.txt("other.example", "v=spf1 -all");
  zone.answers[{DnsType::Txt, "nodata.example"}] = {DnsStatus::NoRecords, {}};
  zone.fail(DnsType::Txt, "temp.example");
  EXPECT_EQ(evaluate(zone, "a@two.example").result.verdict, SpfVerdict::PermError);
  EXPECT_EQ(evaluate(zone, "a@other.example").result.verdict, SpfVerdict::Fail);
  EXPECT_EQ(evaluate(zone, "a@nodata.example").result.verdict, SpfVerdict::None);
  EXPECT_EQ(evaluate(zone, "a@nxdomain.example").result.verdict, SpfVerdict::None);
  EXPECT_EQ(evaluate(zone, "a@temp.example").result.verdict, SpfVerdict::TempError);
  // A name that cannot be looked up is "none", without asking.
  const Outcome bad = evaluate(zone, "a@bad..example");
  EXPECT_EQ(bad.result.verdict, SpfVerdict::None);
  EXPECT_TRUE(bad.asked.empty());
  EXPECT_EQ(evaluate(zone, "a@localhost").result.verdict, SpfVerdict::None);
}

TEST(SpfEvaluator, EmptyMailFromChecksPostmasterAtHelo) {
  Zone zone;
  zone.txt("helo.example", "v=spf1 exists:%{l}.%{o}.check.example -all");
  zone.a("postmaster.helo.example.check.example", "127.0.0.2");
  SpfEvaluator e({*net::IpAddress::parse("192.0.2.9"), "helo.example", "", ""});
  EXPECT_EQ(e.sender(), "postmaster@helo.example");
  const Outcome run = evaluate(zone, "", "192.0.2.9", "helo.example");
  EXPECT_EQ(run.result.verdict, SpfVerdict::Pass) << run.result.reason;
  EXPECT_EQ(run.result.domain, "helo.example");
}

TEST(SpfEvaluator, Ipv6ClientAsksAaaaAndMappedIpv4IsIpv4) {
  Zone zone;
  zone.txt("example.com", "v=spf1 a:host.example.com ip4:192.0.2.0/24 -all");
  zone.add(DnsType::Aaaa, "host.example.com", "2001:db8::25");
  EXPECT_EQ(evaluate(zone, "a@example.com", "2001:db8::25").result.verdict, SpfVerdict::Pass);
  EXPECT_EQ(evaluate(zone, "a@example.com", "2001:db8::26").result.verdict, SpfVerdict::Fail);
  EXPECT_EQ(evaluate(zone, "a@example.com", "::ffff:192.0.2.7").result.verdict, SpfVerdict::Pass);
}

// ---- limits (RFC 7208 4.6.4 and limits.hpp) ----

// A record with `n` include terms, each to a domain with "v=spf1 -all".
Zone includes(size_t n) {
  Zone zone;
  std::string record = "v=spf1";
  for (size_t i = 0; i < n; ++i) {
    std::string name = "i";  // appended piecewise: GCC 12 -O3 reports a false -Wrestrict on "i" + string
    name += std::to_string(i);
    name += ".example.net";
    record += " include:" + name;
    zone.txt(name, "v=spf1 -all");
  }
  zone.txt("example.com", record + " +all");
  return zone;
}

TEST(SpfLimits, TenDnsMechanismsAndNoMore) {
  EXPECT_EQ(evaluate(includes(limits::kMaxDnsMechanisms), "a@example.com").result.verdict, SpfVerdict::Pass);
  const Outcome over = evaluate(includes(limits::kMaxDnsMechanisms + 1), "a@example.com");
  EXPECT_EQ(over.result.verdict, SpfVerdict::PermError);
  EXPECT_NE(over.result.reason.find("DNS-querying mechanisms"), std::string::npos) << over.result.reason;
}

TEST(SpfLimits, IncludeLoopIsPermerror) {
  Zone zone;
  zone.txt("example.com", "v=spf1 include:loop.example.net -all");
  zone.txt("loop.example.net", "v=spf1 include:loop.example.net -all");
  const Outcome run = evaluate(zone, "a@example.com");
  EXPECT_EQ(run.result.verdict, SpfVerdict::PermError);
  EXPECT_LE(run.asked.size(), limits::kMaxDnsMechanisms + 1);  // each answer is asked for once
}

TEST(SpfLimits, TwoVoidLookupsAndNoMore) {
  Zone zone;
  zone.txt("two.example", "v=spf1 a:v1.example.net a:v2.example.net -all");
  zone.txt("three.example", "v=spf1 a:v1.example.net a:v2.example.net mx:v3.example.net -all");
  EXPECT_EQ(evaluate(zone, "a@two.example").result.verdict, SpfVerdict::Fail);
  const Outcome three = evaluate(zone, "a@three.example");
  EXPECT_EQ(three.result.verdict, SpfVerdict::PermError);
  EXPECT_NE(three.result.reason.find("void"), std::string::npos) << three.result.reason;
}

TEST(SpfLimits, TenMxNamesAndNoMore) {
  Zone zone;
  zone.txt("ten.example", "v=spf1 mx -all");
  zone.txt("eleven.example", "v=spf1 mx -all");
  for (size_t i = 0; i <= limits::kMaxMxNames; ++i) {
    const std::string host = "mx" + std::to_string(i) + ".example.net";
    zone.a(host, "198.51.100." + std::to_string(i));
    if (i < limits::kMaxMxNames) zone.add(DnsType::Mx, "ten.example", host);
    zone.add(DnsType::Mx, "eleven.example", host);
  }
  EXPECT_EQ(evaluate(zone, "a@ten.example").result.verdict, SpfVerdict::Fail);
  EXPECT_EQ(evaluate(zone, "a@eleven.example").result.verdict, SpfVerdict::PermError);
}

TEST(SpfLimits, OnlyTheFirstTenPtrNamesAreChecked) {
  Zone zone;
  zone.txt("example.com", "v=spf1 ptr -all");
  for (size_t i = 0; i < limits::kMaxPtrNames; ++i)
    zone.add(DnsType::Ptr, "1.2.0.192.in-addr.arpa", "host" + std::to_string(i) + ".example.org");
  zone.add(DnsType::Ptr, "1.2.0.192.in-addr.arpa", "mail.example.com");  // the 11th
  zone.a("mail.example.com", "192.0.2.1");
  const Outcome run = evaluate(zone, "a@example.com");
  EXPECT_EQ(run.result.verdict, SpfVerdict::Fail);  // not a permerror: the client owns its PTRs
  for (const auto& q : run.asked) EXPECT_NE(q.name, "mail.example.com");
}

}  // namespace
}  // namespace volley::spf
