// platform::DeliveryEvents: a tracked message's delivery round becomes one
// event per recipient tried, an up-to-date message history, and a
// suppression for the sender domain when the address itself is bad.
#include "platform/delivery_events.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "temp_dir.hpp"

using namespace volley;
using namespace volley::platform;

namespace {

struct DeliveryEventsTest : ::testing::Test {
  test::TempDir tmp{"devents"};
  std::unique_ptr<PlatformDb> db = std::move(*PlatformDb::open(tmp.path + "/platform.db"));
  EventLog events{*db};
  MessageHistory history{*db};
  SuppressionList suppressions{*db};
  DeliveryEvents observer{events, history, suppressions, [] { return int64_t{1700000000}; }};

  queue::Envelope envelope() {
    queue::Envelope env;
    env.id = "Q1";
    env.sender = "news@Sender.example";
    env.tracked = true;
    env.campaign = "C1";
    for (const char* a : {"a@x.test", "b@x.test", "c@x.test", "d@x.test"}) {
      queue::Recipient r;
      r.address = a;
      env.recipients.push_back(r);
    }
    HistoryMessage m;
    m.id = env.id;
    m.from = env.sender;
    m.campaign = env.campaign;
    for (const auto& r : env.recipients) {
      HistoryRecipient h;
      h.address = r.address;
      m.recipients.push_back(h);
    }
    EXPECT_TRUE(history.record(m));
    return env;
  }
  static delivery::RcptOutcome outcome(int code, const char* enhanced, const char* text) {
    std::string reply = std::to_string(code);
    reply += ' ';
    reply += enhanced;
    reply += ' ';
    reply += text;
    return delivery::reply_outcome(code, enhanced, reply, "mx.x.test[192.0.2.1]:25", "mx.x.test", "TLSv1.3");
  }
};

TEST_F(DeliveryEventsTest, OneRoundBecomesEventsHistoryAndSuppressions) {
  queue::Envelope env = envelope();
  env.recipients[0].state = queue::RecipientState::Delivered;
  env.recipients[1].state = queue::RecipientState::Bounced;
  env.recipients[2].state = queue::RecipientState::Bounced;
  env.recipients[3].state = queue::RecipientState::Deferred;
  std::vector<std::optional<delivery::RcptOutcome>> o(4);
  o[0] = outcome(250, "2.0.0", "ok");
  o[1] = outcome(550, "5.1.1", "no such user");
  o[2] = outcome(554, "5.7.1", "rejected as spam");
  o[3] = outcome(451, "4.7.1", "greylisted");
  observer.round_finished(env, o);

  auto page = events.list(0, nullptr, 100);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->events.size(), 4u);
  EXPECT_EQ(page->events[0].type, EventType::Delivered);
  EXPECT_EQ(page->events[1].type, EventType::Bounced);
  EXPECT_EQ(page->events[3].type, EventType::Deferred);
  EXPECT_EQ(page->events[1].campaign, "C1");
  EXPECT_EQ(page->events[1].at, 1700000000);
  auto detail = nlohmann::json::parse(page->events[1].detail);
  EXPECT_EQ(detail["status"], "5.1.1");
  EXPECT_EQ(detail["class"], "hard");
  EXPECT_EQ(nlohmann::json::parse(page->events[2].detail)["class"], "spam");
  EXPECT_EQ(nlohmann::json::parse(page->events[3].detail)["class"], "soft");
  EXPECT_FALSE(nlohmann::json::parse(page->events[0].detail).contains("class")) << "deliveries have no class";

  auto b = suppressions.find("sender.example", "b@x.test");
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->has_value()) << "a bad mailbox is suppressed for the sender's domain";
  EXPECT_EQ((*b)->reason, SuppressionReason::HardBounce);
  auto c = suppressions.find("sender.example", "c@x.test");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->has_value()) << "a spam refusal says nothing about the address";

  auto m = history.find("Q1");
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ((*m)->recipients[0].state, kStateDelivered);
  EXPECT_EQ((*m)->recipients[1].state, kStateBounced);
  EXPECT_EQ((*m)->recipients[1].last_reply, "550 5.1.1 no such user");
  EXPECT_EQ((*m)->recipients[3].state, kStateDeferred);
  EXPECT_EQ((*m)->recipients[3].attempts, 1);
}

// The operator's rules come first: here a text the defaults would call
// spam is declared a bad address, and the event names the rule.
TEST_F(DeliveryEventsTest, OperatorRulesDecideWhatIsSuppressed) {
  auto rules = parse_bounce_rules("[[rule]]\ntext = \"mailbox retired\"\nclass = \"hard\"\n", "rules.toml");
  ASSERT_TRUE(rules) << rules.error().message;
  observer.set_classifier(std::make_shared<const BounceClassifier>(std::move(*rules)));
  queue::Envelope env = envelope();
  env.recipients[0].state = queue::RecipientState::Bounced;
  std::vector<std::optional<delivery::RcptOutcome>> o(4);
  o[0] = outcome(554, "5.7.1", "mailbox retired, spam");
  observer.round_finished(env, o);
  auto a = suppressions.find("sender.example", "a@x.test");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->has_value());
  auto page = events.list(0, nullptr, 100);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->events.size(), 1u);
  auto detail = nlohmann::json::parse(page->events[0].detail);
  EXPECT_EQ(detail["class"], "hard");
  EXPECT_EQ(detail["rule"], "rules.toml:1");
}

TEST_F(DeliveryEventsTest, UntriedRecipientsAreLeftAlone) {
  queue::Envelope env = envelope();
  std::vector<std::optional<delivery::RcptOutcome>> o(4);
  observer.round_finished(env, o);
  auto page = events.list(0, nullptr, 100);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->events.empty());
}

TEST(DomainOf, LowercasesTheDomain) {
  EXPECT_EQ(domain_of("a@B.Example"), "b.example");
  EXPECT_EQ(domain_of(""), "");
  EXPECT_EQ(domain_of("postmaster"), "");
}

}  // namespace
