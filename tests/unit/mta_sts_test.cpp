// MTA-STS (RFC 8461): TXT record and policy file parsing, record selection,
// and MX pattern matching (wildcards cover exactly one leftmost label).
#include "mta_sts/policy.hpp"

#include <gtest/gtest.h>

namespace volley::mta_sts {
namespace {

TEST(MtaStsRecord, Table) {
  struct Case {
    const char* txt;
    const char* id;  // nullptr: invalid
  } cases[] = {
      {"v=STSv1; id=20160831085700Z;", "20160831085700Z"},
      {"v=STSv1;id=abc", "abc"},
      {"  v=STSv1; ext=1; id=Z9  ", "Z9"},
      {"v=STSv1;", nullptr},
      {"v=STSv1; id=", nullptr},
      {"v=STSv1; id=has-dash", nullptr},
      {"v=STSv1; id=123456789012345678901234567890123", nullptr},
      {"v=STSv1; id=a; id=b", nullptr},
      {"v=STSv2; id=a", nullptr},
      {"id=a; v=STSv1", nullptr},
  };
  for (const auto& c : cases) {
    auto r = parse_sts_record(c.txt);
    if (!c.id) {
      EXPECT_FALSE(r) << c.txt;
    } else {
      ASSERT_TRUE(r) << c.txt << ": " << r.error().message;
      EXPECT_EQ(r->id, c.id);
    }
  }
}

TEST(MtaStsRecord, ExactlyOneRecordOrNoPolicy) {
  EXPECT_EQ(select_sts_record({"v=spf1 -all", "v=STSv1; id=1"})->id, "1");
  EXPECT_FALSE(select_sts_record({"v=STSv1; id=1", "v=STSv1; id=2"}));
  EXPECT_FALSE(select_sts_record({"v=STSv1; id=bad-id"}));
  EXPECT_FALSE(select_sts_record({}));
}

TEST(MtaStsPolicy, ParsesTheRfcExample) {
  auto p = parse_policy("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
                        "mx: backupmx.example.com\r\nmax_age: 604800\r\n");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->mode, Mode::Enforce);
  EXPECT_EQ(p->max_age, 604800u);
  EXPECT_EQ(p->mx, (std::vector<std::string>{"mail.example.com", "*.example.net", "backupmx.example.com"}));
  auto again = parse_policy(policy_text(*p));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->mx, p->mx);
  EXPECT_EQ(again->mode, p->mode);
}

TEST(MtaStsPolicy, Table) {
  struct Case {
    const char* name;
    const char* text;
    bool ok;
  } cases[] = {
      {"LF line ends, unknown key", "version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\nfoo: bar\n", true},
      {"mode none needs no mx", "version: STSv1\nmode: none\nmax_age: 86400\n", true},
      {"no version", "mode: enforce\nmx: a.example\nmax_age: 1\n", false},
      {"wrong version", "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", false},
      {"bad mode", "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n", false},
      {"enforce without mx", "version: STSv1\nmode: enforce\nmax_age: 1\n", false},
      {"max_age not a number", "version: STSv1\nmode: enforce\nmx: a\nmax_age: soon\n", false},
      {"no max_age", "version: STSv1\nmode: enforce\nmx: a\n", false},
      {"line without colon", "version: STSv1\nmode enforce\n", false},
      {"html error page", "<html><body>404</body></html>", false},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_policy(c.text).ok(), c.ok) << c.name;
}

TEST(MtaStsPolicy, MaxAgeIsCappedAtOneYear) {
  auto p = parse_policy("version: STSv1\nmode: enforce\nmx: a\nmax_age: 9999999999\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->max_age, 31557600u);
}

TEST(MtaStsPolicy, OversizedPolicyIsRefused) {
  std::string text = "version: STSv1\nmode: enforce\nmax_age: 1\n";
  while (text.size() < 70 * 1024) text += "mx: host.example.com\n";
  EXPECT_FALSE(parse_policy(text));
}

TEST(MtaStsMx, WildcardCoversOneLabel) {
  EXPECT_TRUE(mx_matches("mail.example.com", "MAIL.example.com."));
  EXPECT_TRUE(mx_matches("*.example.net", "mx1.example.net"));
  EXPECT_FALSE(mx_matches("*.example.net", "example.net"));
  EXPECT_FALSE(mx_matches("*.example.net", "a.b.example.net"));
  EXPECT_FALSE(mx_matches("*.example.net", "mx1.evilexample.net"));
  EXPECT_FALSE(mx_matches("mail.example.com", "mail.example.com.evil.test"));
  Policy p;
  p.mx = {"mail.example.com", "*.example.net"};
  EXPECT_TRUE(mx_allowed(p, "x.example.net"));
  EXPECT_FALSE(mx_allowed(p, "attacker.test"));
}

}  // namespace
}  // namespace volley::mta_sts
