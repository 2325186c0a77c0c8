// RoundRecorder against a real queue in a temporary directory, on made-up
// time (FakeClock): what each kind of round leaves in the queue (erased,
// updated with the next due time from queue.retry_schedule), which DSNs it
// queues and hands on (failures, NOTIFY=SUCCESS, none to the null sender),
// and expiry after queue.max_age keeping the last transient status.
#include "delivery/round_recorder.hpp"

#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "delivery/limits.hpp"
#include "queue/queue_id.hpp"
#include "smtp/command.hpp"
#include "temp_dir.hpp"

namespace volley::delivery {
namespace {
using namespace std::chrono_literals;

struct RoundRecorderTest : ::testing::Test {
  test::TempDir dir{"recorder"};
  std::unique_ptr<queue::LogSpool> spool;
  FakeClock clock;
  std::mutex mu;
  std::vector<std::shared_ptr<const queue::Message>> submitted;
  std::unique_ptr<RoundRecorder> recorder;
  RoundPolicy policy;

  void SetUp() override {
    auto s = queue::LogSpool::open(dir.path);
    ASSERT_TRUE(s.ok()) << s.error().message;
    spool = std::move(*s);
    recorder = std::make_unique<RoundRecorder>(*spool, clock, [this](std::shared_ptr<const queue::Message> m) {
      std::lock_guard lock(mu);
      submitted.push_back(std::move(m));
    });
    policy.retry_schedule = {60s, 300s};
    policy.max_age = 3600s;
  }

  Result<void> commit_sync(std::shared_ptr<const queue::Message> m) {
    std::promise<Result<void>> p;
    spool->commit(std::move(m), [&](Result<void> r) { p.set_value(r); });
    return p.get_future().get();
  }
  // The queue applies records in order: once a later commit is done, every
  // record the recorder asked for is on disk and every callback has run.
  void settle() {
    auto m = std::make_shared<queue::Message>();
    m->envelope.id = queue::make_queue_id();
    m->envelope.sender = "settle@example.org";
    queue::Recipient r;
    r.address = "x@example.org";
    m->envelope.recipients.push_back(r);
    m->content = "Subject: settle\r\n\r\nx\r\n";
    ASSERT_TRUE(commit_sync(m).ok());
    ASSERT_TRUE(spool->remove(m->envelope.id).ok());
  }

  // A queued message with `rcpts`, received now, as the engine holds it.
  std::shared_ptr<ActiveMessage> queued(std::vector<std::string> rcpts, std::string sender = "s@example.org",
                                        unsigned notify = 0) {
    auto m = std::make_shared<queue::Message>();
    m->envelope.id = queue::make_queue_id();
    m->envelope.sender = std::move(sender);
    m->envelope.received_at = clock.unix_seconds();
    for (auto& a : rcpts) {
      queue::Recipient r;
      r.address = a;
      r.original = a;
      r.notify = notify;
      m->envelope.recipients.push_back(r);
    }
    m->content = "From: s@example.org\r\nSubject: hi\r\nMessage-ID: <1@example.org>\r\n\r\nbody\r\n";
    EXPECT_TRUE(commit_sync(m).ok());
    auto a = std::make_shared<ActiveMessage>();
    a->env = m->envelope;
    a->msg = m;
    a->outcomes.assign(rcpts.size(), std::nullopt);
    return a;
  }

  static RcptOutcome remote(int code, std::string enhanced, std::string text) {
    return reply_outcome(code, enhanced, std::to_string(code) + " " + enhanced + " " + text,
                         "mx.example.net[192.0.2.1]:25", "mx.example.net", "TLSv1.3");
  }
  std::vector<std::shared_ptr<const queue::Message>> dsns() {
    std::lock_guard lock(mu);
    return submitted;
  }
};

TEST_F(RoundRecorderTest, AllDeliveredErasesAndReportsNothing) {
  auto a = queued({"a@example.net", "b@example.net"});
  a->outcomes[0] = remote(250, "2.0.0", "ok");
  a->outcomes[1] = remote(250, "2.0.0", "ok");
  RoundResult r = recorder->record(*a, policy, "mx.volley.test");
  settle();
  EXPECT_TRUE(r.finished);
  EXPECT_FALSE(spool->show(a->env.id));
  EXPECT_TRUE(dsns().empty());
}

TEST_F(RoundRecorderTest, BounceQueuesOneFailureDsnToTheSender) {
  auto a = queued({"gone@example.net", "ok@example.net"});
  a->outcomes[0] = remote(550, "5.1.1", "no such user");
  a->outcomes[1] = remote(250, "2.0.0", "ok");
  RoundResult r = recorder->record(*a, policy, "mx.volley.test");
  settle();
  EXPECT_TRUE(r.finished);
  EXPECT_FALSE(spool->show(a->env.id));
  auto got = dsns();
  ASSERT_EQ(got.size(), 1u);
  const auto& dsn = *got[0];
  EXPECT_EQ(dsn.envelope.sender, "");
  ASSERT_EQ(dsn.envelope.recipients.size(), 1u);
  EXPECT_EQ(dsn.envelope.recipients[0].address, "s@example.org");
  EXPECT_NE(dsn.content.find("Final-Recipient: rfc822;gone@example.net"), std::string::npos) << dsn.content;
  EXPECT_NE(dsn.content.find("Status: 5.1.1"), std::string::npos);
  EXPECT_NE(dsn.content.find("Remote-MTA: dns; mx.example.net"), std::string::npos);
  EXPECT_NE(dsn.content.find("Diagnostic-Code: smtp; 550 5.1.1 no such user"), std::string::npos);
  EXPECT_NE(dsn.content.find("Reporting-MTA: dns; mx.volley.test"), std::string::npos);
  EXPECT_EQ(dsn.content.find("ok@example.net"), std::string::npos);  // delivered without NOTIFY=SUCCESS
  EXPECT_TRUE(spool->show(dsn.envelope.id));                          // durably queued before handed on
}

TEST_F(RoundRecorderTest, NeverADsnToTheNullSender) {
  auto a = queued({"gone@example.net"}, "");
  a->outcomes[0] = remote(550, "5.1.1", "no such user");
  EXPECT_TRUE(recorder->record(*a, policy, "mx.volley.test").finished);
  settle();
  EXPECT_TRUE(dsns().empty());
}

// A tracked message (the sending platform's) reports by events; its return
// path is our own VERP address, so a DSN would loop back to us.
TEST_F(RoundRecorderTest, NoDsnForATrackedMessage) {
  auto a = queued({"gone@example.net", "ok@example.net"}, "bounces+X-0-Y@example.org",
                     smtp::kNotifySuccess | smtp::kNotifyFailure);
  a->env.tracked = true;
  a->outcomes[0] = remote(550, "5.1.1", "no such user");
  a->outcomes[1] = remote(250, "2.0.0", "ok");
  RoundResult r = recorder->record(*a, policy, "mx.volley.test");
  settle();
  EXPECT_TRUE(r.finished);
  EXPECT_TRUE(r.failed.empty());
  EXPECT_TRUE(r.succeeded.empty());
  EXPECT_TRUE(dsns().empty());
  // The same message untracked gets its DSNs (the test would pass vacuously otherwise).
  auto b = queued({"gone@example.net", "ok@example.net"}, "s@example.org", smtp::kNotifySuccess | smtp::kNotifyFailure);
  b->outcomes[0] = remote(550, "5.1.1", "no such user");
  b->outcomes[1] = remote(250, "2.0.0", "ok");
  recorder->record(*b, policy, "mx.volley.test");
  settle();
  EXPECT_EQ(dsns().size(), 2u);
}

TEST_F(RoundRecorderTest, NotifySuccessOfARelayGetsARelayedDsn) {
  auto a = queued({"r@example.net"}, "s@example.org", smtp::kNotifySuccess);
  a->outcomes[0] = remote(250, "2.0.0", "queued");
  a->outcomes[0]->relayed = true;
  recorder->record(*a, policy, "mx.volley.test");
  settle();
  auto got = dsns();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0]->content.find("Action: relayed"), std::string::npos) << got[0]->content;
}

TEST_F(RoundRecorderTest, DeferralsFollowTheRetryScheduleOnDisk) {
  auto a = queued({"later@example.net"});
  a->outcomes[0] = remote(451, "4.3.0", "try later");
  const int64_t t1 = clock.unix_ms();
  RoundResult r = recorder->record(*a, policy, "mx.volley.test");
  settle();
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(r.next_attempt_ms, t1 + 60'000);
  auto shown = spool->show(a->env.id);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->envelope.deferrals, 1u);
  EXPECT_EQ(shown->envelope.recipients[0].state, queue::RecipientState::Deferred);
  ASSERT_EQ(shown->envelope.attempts.size(), 1u);
  EXPECT_NE(shown->envelope.attempts[0].reply.find("451 4.3.0 try later"), std::string::npos);
  EXPECT_EQ(shown->envelope.next_attempt, (t1 + 60'000 + 999) / 1000);

  // The second deferral waits the schedule's second step.
  clock.advance(60s);
  a->outcomes[0] = remote(451, "4.3.0", "try later");
  r = recorder->record(*a, policy, "mx.volley.test");
  EXPECT_EQ(r.next_attempt_ms, clock.unix_ms() + 300'000);
  EXPECT_TRUE(dsns().empty());
}

TEST_F(RoundRecorderTest, ExpiryAfterMaxAgeBouncesWithTheLastTransientStatus) {
  auto a = queued({"later@example.net"});
  clock.advance(3600s + 999ms);  // received_at is whole seconds: never early
  a->outcomes[0] = remote(451, "4.3.0", "try later");
  RoundResult r = recorder->record(*a, policy, "mx.volley.test");
  settle();
  EXPECT_TRUE(r.finished);
  EXPECT_FALSE(spool->show(a->env.id));
  auto got = dsns();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0]->content.find("Status: 4.3.0"), std::string::npos) << got[0]->content;
  EXPECT_NE(got[0]->content.find("Diagnostic-Code: smtp; 451 4.3.0 try later"), std::string::npos);
  EXPECT_NE(got[0]->content.find("expired"), std::string::npos);
}

TEST_F(RoundRecorderTest, JustBeforeMaxAgeIsStillADeferral) {
  auto a = queued({"later@example.net"});
  clock.advance(3600s + 998ms);
  a->outcomes[0] = remote(451, "4.3.0", "try later");
  EXPECT_FALSE(recorder->record(*a, policy, "mx.volley.test").finished);
  settle();
  EXPECT_TRUE(dsns().empty());
}

TEST_F(RoundRecorderTest, UntriedRecipientsComeBackSoonWithoutADeferral) {
  auto a = queued({"done@example.net", "waiting@busy.test"});
  a->outcomes[0] = remote(250, "2.0.0", "ok");  // the second was not tried (destination full)
  RoundResult r = recorder->record(*a, policy, "mx.volley.test");
  settle();
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(r.next_attempt_ms, clock.unix_ms() + limits::kUntriedRetry.count());
  auto shown = spool->show(a->env.id);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->envelope.deferrals, 0u);
  EXPECT_EQ(shown->envelope.recipients[0].state, queue::RecipientState::Delivered);
  EXPECT_EQ(shown->envelope.recipients[1].state, queue::RecipientState::Pending);
}

}  // namespace
}  // namespace volley::delivery

namespace volley::delivery {
namespace {

struct SeenRounds final : RoundObserver {
  std::vector<queue::Envelope> envs;
  std::vector<std::vector<std::optional<RcptOutcome>>> outcomes;
  std::function<void(const queue::Envelope&)> check;
  void round_finished(const queue::Envelope& env, const std::vector<std::optional<RcptOutcome>>& o) override {
    if (check) check(env);
    envs.push_back(env);
    outcomes.push_back(o);
  }
};

// The platform hears of tracked messages' rounds, with the states after the
// round, before the queue is asked to record them; untracked mail costs it
// nothing.
TEST_F(RoundRecorderTest, ObserverHearsTrackedRoundsBeforeTheQueueRecordsThem) {
  SeenRounds seen;
  recorder->set_observer(&seen);
  auto plain = queued({"a@example.net"});
  plain->outcomes[0] = remote(250, "2.0.0", "ok");
  recorder->record(*plain, policy, "mx.volley.test");
  EXPECT_TRUE(seen.envs.empty());

  auto tracked = queued({"a@example.net", "b@example.net", "c@example.net"});
  tracked->env.tracked = true;
  tracked->outcomes[0] = remote(250, "2.0.0", "ok");
  tracked->outcomes[1] = remote(550, "5.1.1", "no such user");
  const std::string id = tracked->env.id;
  seen.check = [&](const queue::Envelope&) { EXPECT_TRUE(spool->show(id)) << "still queued while observed"; };
  recorder->record(*tracked, policy, "mx.volley.test");
  settle();
  ASSERT_EQ(seen.envs.size(), 1u);
  EXPECT_EQ(seen.envs[0].recipients[0].state, queue::RecipientState::Delivered);
  EXPECT_EQ(seen.envs[0].recipients[1].state, queue::RecipientState::Bounced);
  EXPECT_EQ(seen.envs[0].recipients[2].state, queue::RecipientState::Pending);
  EXPECT_FALSE(seen.outcomes[0][2].has_value());
}

}  // namespace
}  // namespace volley::delivery
