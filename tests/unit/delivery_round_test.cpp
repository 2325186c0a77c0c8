// apply_round (recipient states, attempts, retry schedule, expiry, DSN
// selection), outcome classification and shaping decisions.
#include <gtest/gtest.h>

#include "delivery/outcome.hpp"
#include "delivery/round.hpp"
#include "delivery/shaping.hpp"
#include "smtp/command.hpp"

namespace volley::delivery {
namespace {
using namespace std::chrono_literals;
using queue::RecipientState;

queue::Envelope envelope(std::vector<std::string> rcpts, std::string sender = "s@example.org") {
  queue::Envelope e;
  e.id = "00000000000000000001";
  e.sender = std::move(sender);
  e.received_at = 1'000'000;
  for (auto& r : rcpts) {
    queue::Recipient x;
    x.address = r;
    e.recipients.push_back(x);
  }
  return e;
}

RcptOutcome out(Status s, std::string reply = "x", std::string enh = "") {
  RcptOutcome o;
  o.status = s;
  o.reply = std::move(reply);
  o.enhanced = std::move(enh);
  o.relay = "mx[127.0.0.2]:25";
  return o;
}

RoundPolicy policy() {
  RoundPolicy p;
  p.retry_schedule = {60s, 300s};
  p.max_age = 3600s;
  return p;
}

TEST(ApplyRound, AllSentFinishes) {
  auto e = envelope({"a@x", "b@y"});
  std::vector<std::optional<RcptOutcome>> o{out(Status::Sent), out(Status::Sent)};
  auto r = apply_round(e, o, 1'000'000'000 + 5000, policy());
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(e.attempts.size(), 2u);
  EXPECT_EQ(e.recipients[0].state, RecipientState::Delivered);
  EXPECT_TRUE(r.failed.empty());
}

TEST(ApplyRound, PartialSuccessDefersOnlyTheRest) {
  auto e = envelope({"a@x", "b@y"});
  const int64_t now = 1'000'000'000 + 5000;
  std::vector<std::optional<RcptOutcome>> o{out(Status::Sent), out(Status::Deferred, "451 4.3.0 later", "4.3.0")};
  auto r = apply_round(e, o, now, policy());
  EXPECT_FALSE(r.finished);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(e.recipients[0].state, RecipientState::Delivered);
  EXPECT_EQ(e.recipients[1].state, RecipientState::Deferred);
  EXPECT_EQ(e.deferrals, 1u);
  EXPECT_EQ(r.next_attempt_ms, now + 60'000);
  EXPECT_FALSE(r.only_untried) << "a deferral keeps the retry schedule";
  // Second deferral uses the second interval, the third repeats the last.
  std::vector<std::optional<RcptOutcome>> o2{std::nullopt, out(Status::Deferred)};
  r = apply_round(e, o2, now, policy());
  EXPECT_EQ(r.next_attempt_ms, now + 300'000);
  r = apply_round(e, o2, now, policy());
  EXPECT_EQ(r.next_attempt_ms, now + 300'000);
  EXPECT_EQ(e.recipients[0].state, RecipientState::Delivered) << "a delivered recipient stays delivered";
}

TEST(ApplyRound, ExpiredDeferralBecomesBounceWithReason) {
  auto e = envelope({"a@x"});
  std::vector<std::optional<RcptOutcome>> o{out(Status::Deferred, "451 4.3.0 busy", "4.3.0")};
  auto r = apply_round(e, o, (1'000'000 + 3601) * 1000, policy());
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(e.recipients[0].state, RecipientState::Bounced);
  EXPECT_EQ(o[0]->status, Status::Bounced);
  EXPECT_EQ(o[0]->reply, "451 4.3.0 busy") << "the last reply is kept for the DSN's Diagnostic-Code";
  EXPECT_NE(o[0]->note.find("expired"), std::string::npos);
  EXPECT_EQ(o[0]->describe(), o[0]->note + "; last error: 451 4.3.0 busy");
  EXPECT_EQ(e.attempts.back().reply, o[0]->describe());
  EXPECT_EQ(o[0]->enhanced, "4.3.0");
  EXPECT_EQ(r.failed, std::vector<size_t>{0});
}

// received_at is whole seconds: the message may have come in up to 999 ms
// after it, so max_age is counted from the latest possible arrival (never
// early; the flaky e2e expiry 2.1 s after injection with max_age 3s).
TEST(ApplyRound, NeverExpiresBeforeMaxAgeOfTheLatestPossibleArrival) {
  auto e = envelope({"a@x"});
  std::vector<std::optional<RcptOutcome>> o{out(Status::Deferred, "451 4.3.0 busy", "4.3.0")};
  EXPECT_FALSE(apply_round(e, o, (1'000'000 + 3600) * 1000 + 998, policy()).finished);
  o[0] = out(Status::Deferred, "451 4.3.0 busy", "4.3.0");
  EXPECT_TRUE(apply_round(e, o, (1'000'000 + 3600) * 1000 + 999, policy()).finished);
}

TEST(ApplyRound, DsnSelectionFollowsNotify) {
  auto e = envelope({"default@x", "never@x", "success@x", "failure@x"});
  e.recipients[1].notify = smtp::kNotifyNever;
  e.recipients[2].notify = smtp::kNotifySuccess;
  e.recipients[3].notify = smtp::kNotifyFailure;
  std::vector<std::optional<RcptOutcome>> o{out(Status::Bounced), out(Status::Bounced), out(Status::Sent),
                                            out(Status::Bounced)};
  auto r = apply_round(e, o, 1'000'000'000, policy());
  EXPECT_EQ(r.failed, (std::vector<size_t>{0, 3}));
  EXPECT_EQ(r.succeeded, std::vector<size_t>{2});
}

TEST(ApplyRound, NullSenderNeverGetsADsn) {
  auto e = envelope({"a@x"}, "");
  std::vector<std::optional<RcptOutcome>> o{out(Status::Bounced)};
  auto r = apply_round(e, o, 1'000'000'000, policy());
  EXPECT_TRUE(r.finished);
  EXPECT_TRUE(r.failed.empty());
}

TEST(ApplyRound, UntriedRecipientsComeBackSoonWithoutADeferral) {
  auto e = envelope({"a@x"});
  std::vector<std::optional<RcptOutcome>> o{std::nullopt};
  auto r = apply_round(e, o, 5000, policy());
  EXPECT_FALSE(r.finished);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(e.deferrals, 0u);
  EXPECT_EQ(r.next_attempt_ms, 6000);
  EXPECT_TRUE(r.only_untried) << "the engine may park it on its full destination";
}

TEST(ApplyRound, AttemptHistoryIsBounded) {
  auto e = envelope({"a@x"});
  RoundPolicy p = policy();
  p.max_attempts_kept = 5;
  for (int i = 0; i < 20; ++i) {
    std::vector<std::optional<RcptOutcome>> o{out(Status::Deferred, "try " + std::to_string(i))};
    (void)apply_round(e, o, 1'000'000'000, p);
  }
  ASSERT_EQ(e.attempts.size(), 5u);
  EXPECT_EQ(e.attempts.back().reply, "try 19");
}

TEST(Outcome, CodesAndThrottles) {
  EXPECT_EQ(status_for_code(250), Status::Sent);
  EXPECT_EQ(status_for_code(451), Status::Deferred);
  EXPECT_EQ(status_for_code(550), Status::Bounced);
  EXPECT_EQ(status_for_code(354), Status::Deferred);
  EXPECT_TRUE(is_throttle(421, ""));
  EXPECT_TRUE(is_throttle(451, "4.7.1"));
  EXPECT_FALSE(is_throttle(451, "4.3.0"));
  EXPECT_FALSE(is_throttle(550, "5.7.1"));
}

TEST(Shaping, Matching) {
  struct Case {
    const char* pattern;
    const char* name;
    bool match;
  } cases[] = {
      {"gmail.com", "gmail.com", true},        {"gmail.com", "GMAIL.COM.", true},
      {"gmail.com", "alt1.gmail.com", true},   {"gmail.com", "notgmail.com", false},
      {"*.example.net", "a.example.net", true}, {"*.example.net", "example.net", false},
      {"*.example.net", "a.b.example.net", true}, {"google.com", "gmail-smtp-in.l.google.com", true},
  };
  for (const auto& c : cases) EXPECT_EQ(shaping_matches(c.pattern, c.name), c.match) << c.pattern << " " << c.name;
  std::vector<config::ShapingRule> rules(2);
  rules[0].match = "example.org";
  rules[1].match = "google.com";
  EXPECT_EQ(find_shaping_rule(rules, "example.org", {}), 0);
  EXPECT_EQ(find_shaping_rule(rules, "customer.test", {"aspmx.l.google.com"}), 1);
  EXPECT_EQ(find_shaping_rule(rules, "other.test", {"mx.other.test"}), -1);
}

TEST(Shaping, RateLimiterSpacesSlots) {
  RateLimiter r(3600, std::chrono::hours(1));  // one per second
  EXPECT_EQ(r.reserve(10'000), 10'000);
  EXPECT_EQ(r.reserve(10'000), 11'000);
  EXPECT_EQ(r.reserve(10'500), 12'000);
  EXPECT_EQ(r.reserve(50'000), 50'000) << "an idle limiter does not bank slots";
  RateLimiter none;
  EXPECT_FALSE(none.limited());
  EXPECT_EQ(none.reserve(7), 7);
}

TEST(Shaping, BackoffHalvesAndRecovers) {
  Backoff b;
  EXPECT_EQ(b.limit(20), 20u);
  b.on_throttle(0);
  EXPECT_EQ(b.limit(20), 10u);
  EXPECT_EQ(b.paused_until_ms(), 2000);
  b.on_throttle(0);
  EXPECT_EQ(b.limit(20), 5u);
  for (int i = 0; i < 10; ++i) b.on_throttle(0);
  EXPECT_EQ(b.limit(20), 1u) << "never below one connection";
  EXPECT_LE(b.paused_until_ms(), 120'000);
  for (int i = 0; i < 10; ++i) b.on_success();
  EXPECT_EQ(b.limit(20), 20u);
}

}  // namespace
}  // namespace volley::delivery
