#include "platform/bounce_classifier.hpp"

#include <gtest/gtest.h>

#include <string>

namespace volley::platform {
namespace {

struct BounceCase {
  std::string name;
  int code;
  std::string enhanced, text;
  BounceClass expected;
};

void PrintTo(const BounceCase& c, std::ostream* os) { *os << c.name; }

class DefaultBounceRules : public ::testing::TestWithParam<BounceCase> {};

TEST_P(DefaultBounceRules, Table) {
  const BounceCase& c = GetParam();
  static const BounceClassifier classifier;
  const BounceVerdict v = classifier.classify(c.code, c.enhanced, c.text);
  EXPECT_EQ(bounce_class_name(v.result), std::string(bounce_class_name(c.expected)))
      << (v.rule ? v.rule->status + " / " + v.rule->text : "no rule");
}

INSTANTIATE_TEST_SUITE_P(
    Platform, DefaultBounceRules,
    ::testing::Values(
        BounceCase{"gmail_no_such_user", 550, "5.1.1",
                   "The email account that you tried to reach does not exist. Please try double-checking", BounceClass::Hard},
        BounceCase{"gmail_over_quota", 452, "4.2.2", "The email account that you tried to reach is over quota.",
                   BounceClass::Quota},
        BounceCase{"gmail_quota_5xx", 552, "5.2.2", "The recipient's inbox is out of storage space.", BounceClass::Quota},
        BounceCase{"mailbox_full_text_only", 550, "", "Mailbox full", BounceClass::Quota},
        BounceCase{"gmail_unsolicited", 550, "5.7.1",
                   "Our system has detected that this message is likely unsolicited mail.", BounceClass::Spam},
        BounceCase{"gmail_unauthenticated", 550, "5.7.26",
                   "This mail has been blocked because the sender is unauthenticated.", BounceClass::Policy},
        BounceCase{"gmail_rate", 421, "4.7.28", "Our system has detected an unusual rate of unsolicited mail",
                   BounceClass::Block},
        BounceCase{"microsoft_spamhaus", 550, "5.7.1",
                   "Service unavailable, Client host [192.0.2.1] blocked using Spamhaus.", BounceClass::Block},
        BounceCase{"microsoft_s3140", 550, "5.7.1",
                   "Unfortunately, messages from [192.0.2.1] weren't sent. ... on our block list (S3140)",
                   BounceClass::Block},
        BounceCase{"yahoo_ts01", 421, "4.7.0",
                   "[TS01] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints",
                   BounceClass::Block},
        BounceCase{"yahoo_deferred_no_code", 421, "", "Messages from 192.0.2.1 temporarily deferred", BounceClass::Block},
        BounceCase{"spam_content", 554, "5.7.1", "Message rejected as spam by Content Filtering.", BounceClass::Spam},
        BounceCase{"policy_text", 550, "5.7.1", "Rejected by recipient's policy", BounceClass::Policy},
        BounceCase{"dmarc", 550, "5.7.1", "Email rejected per DMARC policy for example.com", BounceClass::Policy},
        BounceCase{"greylisted", 451, "4.7.1", "Greylisted, please try again in 300 seconds", BounceClass::Soft},
        BounceCase{"too_big", 552, "5.3.4", "Message size exceeds fixed limit", BounceClass::Policy},
        BounceCase{"user_unknown_text", 550, "", "User unknown in virtual mailbox table", BounceClass::Hard},
        BounceCase{"unknown_4xx_user_is_soft", 450, "", "Recipient address rejected: User unknown", BounceClass::Soft},
        BounceCase{"bad_domain", 550, "5.1.2", "Host unknown", BounceClass::Hard},
        BounceCase{"null_mx", 556, "5.1.10", "Recipient address has null MX", BounceClass::Hard},
        BounceCase{"disabled", 550, "5.2.1", "The email account that you tried to reach is disabled.",
                   BounceClass::Hard},
        BounceCase{"generic_4xx", 451, "4.3.0", "Internal error", BounceClass::Soft},
        BounceCase{"generic_5xx", 554, "5.0.0", "Transaction failed", BounceClass::Hard},
        BounceCase{"code_only", 421, "", "", BounceClass::Soft},
        BounceCase{"status_in_text", 0, "", "550 5.1.1 <a@b.example>: Recipient address rejected", BounceClass::Hard},
        BounceCase{"status_prefix_boundary", 550, "5.1.10", "x", BounceClass::Hard},
        BounceCase{"5_7_generic", 550, "5.7.0", "Access denied", BounceClass::Policy},
        BounceCase{"nothing", 0, "", "", BounceClass::Unknown}),
    [](const ::testing::TestParamInfo<BounceCase>& info) { return info.param.name; });

TEST(PlatformBounceRules, OperatorRulesComeFirst) {
  auto rules = parse_bounce_rules(R"(
# local rules
[[rule]]
status = "5.7.1"
text = "Blocked Using Spamhaus"
class = "spam"

[[rule]]
text = "mailbox full"
class = "hard"
)",
                                  "rules.toml");
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ(rules.value()[0].text, "blocked using spamhaus");
  EXPECT_EQ(rules.value()[0].origin, "rules.toml:3");
  const BounceClassifier c(std::move(rules).value());
  auto v = c.classify(550, "5.7.1", "Client host blocked using Spamhaus");
  EXPECT_EQ(v.result, BounceClass::Spam);
  ASSERT_NE(v.rule, nullptr);
  EXPECT_EQ(v.rule->origin, "rules.toml:3");
  EXPECT_EQ(c.classify(552, "5.2.2", "Mailbox FULL").result, BounceClass::Hard);
  EXPECT_EQ(c.classify(550, "5.1.1", "no such user").result, BounceClass::Hard);  // defaults still apply
  EXPECT_EQ(c.classify(550, "5.1.1", "x").rule->origin, "default");
}

struct RulesError {
  std::string name, text, message;
};

class BadBounceRules : public ::testing::TestWithParam<RulesError> {};

TEST_P(BadBounceRules, NameFileAndLine) {
  auto r = parse_bounce_rules(GetParam().text, "rules.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind(GetParam().message, 0), 0u) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Platform, BadBounceRules,
    ::testing::Values(
        RulesError{"syntax", "x = 1\n[[rule]\n", "rules.toml:2: "},
        RulesError{"bad_class", "\n[[rule]]\ntext = \"x\"\nclass = \"hardish\"\n",
                   "rules.toml:4: rule[0].class: expected one of hard, soft, block, quota, policy, spam, unknown"},
        RulesError{"no_class", "[[rule]]\ntext = \"x\"\n", "rules.toml:1: rule[0].class: required"},
        RulesError{"catch_all", "[[rule]]\nclass = \"hard\"\n", "rules.toml:1: rule[0]: needs status or text (or both)"},
        RulesError{"typo_key", "[[rule]]\ntext = \"x\"\nclas = \"hard\"\n",
                   "rules.toml:3: rule[0].clas: unknown key (expected status, text, class)"},
        RulesError{"bad_status", "[[rule]]\nstatus = \"5.x\"\nclass = \"hard\"\n",
                   "rules.toml:2: rule[0].status: expected an enhanced status prefix like \"5.7.1\" or \"4\""},
        RulesError{"number_text", "[[rule]]\ntext = 5\nclass = \"hard\"\n", "rules.toml:2: rule[0].text: expected a string"},
        RulesError{"top_level_key", "rules = 1\n", "rules.toml:1: unknown key \"rules\" (rules are [[rule]] tables)"},
        RulesError{"second_rule", "[[rule]]\ntext = \"a\"\nclass = \"hard\"\n[[rule]]\ntext = \"\"\nclass = \"soft\"\n",
                   "rules.toml:5: rule[1].text: expected 1 to 256 characters"}),
    [](const ::testing::TestParamInfo<RulesError>& info) { return info.param.name; });

TEST(PlatformBounceRules, EmptyFileHasNoRulesAndMissingFileIsAnError) {
  auto r = parse_bounce_rules("# nothing yet\n", "rules.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  auto missing = load_bounce_rules("/nonexistent/volley-rules.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/volley-rules.toml"), std::string::npos);
}

TEST(PlatformBounceRules, ClassNamesRoundTrip) {
  for (BounceClass c : {BounceClass::Hard, BounceClass::Soft, BounceClass::Block, BounceClass::Quota,
                        BounceClass::Policy, BounceClass::Spam, BounceClass::Unknown})
    EXPECT_EQ(parse_bounce_class(bounce_class_name(c)), c);
  EXPECT_FALSE(parse_bounce_class("bogus").has_value());
}

}  // namespace
}  // namespace volley::platform
