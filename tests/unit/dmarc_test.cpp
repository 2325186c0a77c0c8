// DMARC pieces: the policy record parser and record selection (RFC 7489
// 6.3, 6.6.3), the RFC5322.From domain, organizational domains from the
// Public Suffix List, and evaluation (alignment, sp=, pct=) as tables.
#include <gtest/gtest.h>

#include "dmarc/dmarc_policy.hpp"
#include "dmarc/dmarc_record.hpp"
#include "dmarc/from_domain.hpp"
#include "dmarc/public_suffix.hpp"

namespace volley::dmarc {
namespace {

const PublicSuffixList& psl() {
  static auto list = PublicSuffixList::load();
  if (!list) throw std::runtime_error(list.error().message);  // install-deps installs publicsuffix
  return **list;
}

struct RecordCase {
  const char* name;
  const char* txt;
  bool ok;
  Policy policy = Policy::None;
  unsigned pct = 100;
};

TEST(DmarcRecord, Table) {
  const RecordCase cases[] = {
      {"minimal", "v=DMARC1; p=reject", true, Policy::Reject},
      {"spaces and trailing semicolon", "  v=DMARC1 ;  p = quarantine ; ", true, Policy::Quarantine},
      {"case of values", "v=DMARC1; p=REJECT", true, Policy::Reject},
      {"pct", "v=DMARC1; p=none; pct=20", true, Policy::None, 20},
      {"unknown tags ignored", "v=DMARC1; p=reject; foo=bar; ri=86400; fo=1", true, Policy::Reject},
      {"v not first", "p=reject; v=DMARC1", false},
      {"wrong version", "v=DMARC2; p=reject", false},
      {"no p", "v=DMARC1; adkim=s", false},
      {"bad p", "v=DMARC1; p=maybe", false},
      {"bad p but rua: p=none", "v=DMARC1; p=maybe; rua=mailto:d@example.com", true, Policy::None},
      {"no p but rua: p=none", "v=DMARC1; rua=mailto:d@example.com", true, Policy::None},
      {"bad sp voids like bad p", "v=DMARC1; p=reject; sp=x", false},
      {"pct too big", "v=DMARC1; p=reject; pct=101", false},
      {"pct not a number", "v=DMARC1; p=reject; pct=ten", false},
      {"bad adkim", "v=DMARC1; p=reject; adkim=x", false},
      {"duplicate tag", "v=DMARC1; p=reject; p=none", false},
      {"tag without =", "v=DMARC1; p=reject; junk", false},
      {"empty", "", false},
  };
  for (const auto& c : cases) {
    auto r = parse_dmarc_record(c.txt);
    EXPECT_EQ(r.ok(), c.ok) << c.name << ": " << (r ? "" : r.error().message);
    if (!r || !c.ok) continue;
    EXPECT_EQ(r->policy, c.policy) << c.name;
    EXPECT_EQ(r->pct, c.pct) << c.name;
  }
}

TEST(DmarcRecord, AlignmentAndSubdomainPolicy) {
  auto r = parse_dmarc_record("v=DMARC1; p=none; sp=reject; adkim=s; aspf=r");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subdomain_policy, Policy::Reject);
  EXPECT_EQ(r->dkim_alignment, Alignment::Strict);
  EXPECT_EQ(r->spf_alignment, Alignment::Relaxed);
}

TEST(DmarcRecord, TooLongIsRefused) {
  std::string txt = "v=DMARC1; p=reject; rua=mailto:" + std::string(5000, 'a') + "@example.com";
  EXPECT_FALSE(parse_dmarc_record(txt));
}

TEST(DmarcRecord, SelectionIgnoresOtherTxtAndNeedsExactlyOne) {
  auto one = select_dmarc_record({"v=spf1 -all", "v=DMARC1; p=reject", "hello"});
  ASSERT_TRUE(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->policy, Policy::Reject);
  auto none = select_dmarc_record({"v=spf1 -all"});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto two = select_dmarc_record({"v=DMARC1; p=reject", "v=DMARC1; p=none"});
  ASSERT_TRUE(two);
  EXPECT_FALSE(two->has_value()) << "two records: no policy (RFC 7489 6.6.3 step 5)";
  EXPECT_FALSE(select_dmarc_record({"v=DMARC1; p=bogus"})) << "one unusable record: permerror";
  EXPECT_FALSE(is_dmarc_record("v=DMARC10; p=reject"));
}

struct FromCase {
  const char* name;
  const char* headers;
  const char* domain;  // nullptr: error
};

TEST(FromDomain, Table) {
  const FromCase cases[] = {
      {"bare", "From: a@Example.COM\r\nTo: b@x\r\n\r\n", "example.com"},
      {"display name", "From: \"Alice, Example\" <alice@example.com>\r\n\r\n", "example.com"},
      {"quoted @ in display name", "From: \"evil@attacker.test\" <alice@example.com>\r\n", "example.com"},
      {"comment", "From: alice@example.com (Alice at attacker.test)\r\n", "example.com"},
      {"folded", "From: Alice\r\n <alice@example.com>\r\nSubject: x\r\n", "example.com"},
      {"lowercase name", "from: alice@example.com\r\n", "example.com"},
      {"trailing dot", "From: <alice@example.com.>\r\n", "example.com"},
      {"two same domain", "From: a@example.com, b@example.com\r\n", "example.com"},
      {"group", "From: team: a@example.com, b@example.com;\r\n", "example.com"},
      {"two domains", "From: a@example.com, b@example.org\r\n", nullptr},
      {"no From", "Subject: x\r\n\r\nFrom: a@example.com\r\n", nullptr},
      {"two From fields", "From: a@example.com\r\nFrom: a@example.org\r\n", nullptr},
      {"no domain", "From: alice\r\n", nullptr},
      {"address literal", "From: a@[192.0.2.1]\r\n", nullptr},
      {"unterminated", "From: \"alice <a@example.com>\r\n", nullptr},
      {"empty", "From: \r\n", nullptr},
  };
  for (const auto& c : cases) {
    auto r = from_domain(c.headers);
    if (c.domain == nullptr) {
      EXPECT_FALSE(r) << c.name << " gave " << (r ? *r : "");
    } else {
      ASSERT_TRUE(r) << c.name << ": " << r.error().message;
      EXPECT_EQ(*r, c.domain) << c.name;
    }
  }
}

TEST(PublicSuffix, OrganizationalDomains) {
  const auto& list = psl();
  EXPECT_EQ(list.organizational_domain("mail.example.com"), "example.com");
  EXPECT_EQ(list.organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(list.organizational_domain("Example.COM."), "example.com");
  EXPECT_EQ(list.organizational_domain("co.uk"), "co.uk") << "a public suffix is its own organizational domain";
  EXPECT_TRUE(list.is_public_suffix("co.uk"));
  EXPECT_FALSE(list.is_public_suffix("example.co.uk"));
  EXPECT_EQ(list.organizational_domain(""), "");
  EXPECT_FALSE(PublicSuffixList::load("/nonexistent/psl.dat"));
}

PolicyLookup found(const std::string& txt, const std::string& at) {
  PolicyLookup l;
  l.kind = PolicyLookup::Kind::Found;
  auto r = parse_dmarc_record(txt);
  if (!r) throw std::runtime_error(r.error().message);
  l.record = *r;
  l.domain = at;
  return l;
}

struct EvalCase {
  const char* name;
  AuthenticatedIdentifiers ids;
  PolicyLookup lookup;
  unsigned sample;
  DmarcResult result;
  Policy disposition;
};

TEST(DmarcEvaluate, Table) {
  const std::string rej = "v=DMARC1; p=reject";
  const EvalCase cases[] = {
      {"aligned dkim, relaxed subdomain", {"example.com", false, "", {"mail.example.com"}}, found(rej, "example.com"), 0,
       DmarcResult::Pass, Policy::None},
      {"dkim strict needs exact", {"example.com", false, "", {"mail.example.com"}},
       found("v=DMARC1; p=reject; adkim=s", "example.com"), 0, DmarcResult::Fail, Policy::Reject},
      {"aligned spf", {"news.example.com", true, "bounces.example.com", {}}, found(rej, "example.com"), 0,
       DmarcResult::Pass, Policy::None},
      {"spf pass but unaligned", {"example.com", true, "mailer.test", {}}, found(rej, "example.com"), 0,
       DmarcResult::Fail, Policy::Reject},
      {"spf not pass", {"example.com", false, "example.com", {}}, found(rej, "example.com"), 0, DmarcResult::Fail,
       Policy::Reject},
      {"unaligned dkim", {"example.com", false, "", {"attacker.test"}}, found(rej, "example.com"), 0,
       DmarcResult::Fail, Policy::Reject},
      {"not the same org domain across a public suffix", {"a.co.uk", false, "", {"b.co.uk"}}, found(rej, "a.co.uk"), 0,
       DmarcResult::Fail, Policy::Reject},
      {"sp for a subdomain", {"sub.example.com", false, "", {}},
       found("v=DMARC1; p=reject; sp=quarantine", "example.com"), 0, DmarcResult::Fail, Policy::Quarantine},
      {"p at the From domain itself ignores sp", {"example.com", false, "", {}},
       found("v=DMARC1; p=reject; sp=none", "example.com"), 0, DmarcResult::Fail, Policy::Reject},
      {"pct sampled in", {"example.com", false, "", {}}, found("v=DMARC1; p=reject; pct=50", "example.com"), 49,
       DmarcResult::Fail, Policy::Reject},
      {"pct sampled out: reject becomes quarantine", {"example.com", false, "", {}},
       found("v=DMARC1; p=reject; pct=50", "example.com"), 50, DmarcResult::Fail, Policy::Quarantine},
      {"pct sampled out: quarantine becomes none", {"example.com", false, "", {}},
       found("v=DMARC1; p=quarantine; pct=0", "example.com"), 0, DmarcResult::Fail, Policy::None},
      {"no policy", {"example.com", false, "", {}}, PolicyLookup{}, 0, DmarcResult::None, Policy::None},
      {"dns trouble", {"example.com", true, "example.com", {}},
       PolicyLookup{PolicyLookup::Kind::TempFail, {}, "", "SERVFAIL"}, 0, DmarcResult::TempError, Policy::None},
      {"bad record", {"example.com", true, "example.com", {}},
       PolicyLookup{PolicyLookup::Kind::PermError, {}, "", "no p="}, 0, DmarcResult::PermError, Policy::None},
  };
  for (const auto& c : cases) {
    Evaluation e = evaluate(c.ids, c.lookup, psl(), c.sample);
    EXPECT_EQ(result_name(e.result), std::string(result_name(c.result))) << c.name << ": " << e.reason;
    EXPECT_EQ(policy_name(e.disposition), std::string(policy_name(c.disposition))) << c.name;
  }
}

}  // namespace
}  // namespace volley::dmarc
