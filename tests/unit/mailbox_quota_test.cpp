// mailbox::MailboxQuota: the room verdicts, the RCPT usage cache (TTL, no
// scans), delivery's reserve/add, and local delivery deferring a full
// mailbox (4.2.2, bounced with 5.2.2 when the message expires).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "delivery/delivery_target.hpp"
#include "delivery/maildir_target.hpp"
#include "delivery/round.hpp"
#include "mailbox/mailbox_quota.hpp"
#include "temp_dir.hpp"
#include "util/file_io.hpp"

using namespace std::chrono_literals;
using namespace volley;
using namespace volley::mailbox;

namespace {

TEST(RoomFor, Verdicts) {
  EXPECT_EQ(room_for(0, {999999, 9}, 999999), Room::Ok) << "0 = unlimited";
  EXPECT_EQ(room_for(1000, {0, 0}, 1000), Room::Ok);
  EXPECT_EQ(room_for(1000, {0, 0}, 1001), Room::TooBig);
  EXPECT_EQ(room_for(1000, {600, 1}, 400), Room::Ok);
  EXPECT_EQ(room_for(1000, {600, 1}, 401), Room::Full);
  EXPECT_EQ(room_for(1000, {1000, 1}, 0), Room::Full) << "at the limit: full, even with no SIZE=";
  EXPECT_EQ(room_for(1000, {5000, 1}, 0), Room::Full);
}

struct QuotaFixture : ::testing::Test {
  test::TempDir tmp{"mquota"};
  std::string root = tmp.path + "/mail";
  std::string box = root + "/local.test/alice";
  uint64_t limit = 1000;
  FakeClock clock;
  MailboxQuota quota{root, [this](const std::string&) -> Result<uint64_t> { return limit; }, clock, 5000ms};

  void SetUp() override {
    for (const char* d : {"", "/local.test", "/local.test/alice", "/local.test/alice/new", "/local.test/alice/cur"})
      ::mkdir((root + d).c_str(), 0700);
  }
  void write(const std::string& path, const std::string& content) { std::ofstream(path, std::ios::binary) << content; }
  std::string size_file() {
    std::string s;
    (void)read_whole_file(box + "/maildirsize", s);
    return s;
  }
};

TEST_F(QuotaFixture, RcptNeverScansAndAnswersRoomWhenUnknown) {
  write(box + "/new/1.M1P1.h,S=5000", "x");  // over quota, but no maildirsize yet
  EXPECT_EQ(quota.check_rcpt("alice@local.test", 0), Room::Ok) << "unknown usage: delivery enforces";
  EXPECT_EQ(quota.check_rcpt("alice@local.test", 2000), Room::TooBig) << "SIZE= alone needs no usage";
  EXPECT_FALSE(quota.reserve("alice@local.test", 10).ok()) << "delivery recalculates";
  EXPECT_EQ(quota.check_rcpt("alice@local.test", 0), Room::Full) << "and the cache learnt it";
}

TEST_F(QuotaFixture, RcptReadsMaildirSizeOncePerTtl) {
  write(box + "/maildirsize", "1000S\n100 1\n");
  EXPECT_EQ(quota.check_rcpt("alice@local.test", 800), Room::Ok);
  write(box + "/maildirsize", "1000S\n1000 2\n");  // changed by someone else (Dovecot)
  EXPECT_EQ(quota.check_rcpt("alice@local.test", 800), Room::Ok) << "cached for the TTL";
  clock.advance(5s);
  EXPECT_EQ(quota.check_rcpt("alice@local.test", 800), Room::Full);
  EXPECT_EQ(quota.check_rcpt("alice@local.test", 0), Room::Full);
}

TEST_F(QuotaFixture, DeliveryAddsToTheFileAndTheCache) {
  write(box + "/maildirsize", "1000S\n100 1\n");
  EXPECT_EQ(quota.check_rcpt("alice@local.test", 0), Room::Ok);
  quota.add(quota.lock_usage({"alice@local.test"}), "alice@local.test", 900, 1);
  EXPECT_EQ(size_file(), "1000S\n100 1\n900 1\n");
  EXPECT_EQ(quota.check_rcpt("alice@local.test", 0), Room::Full) << "seen at once, not after the TTL";
  quota.add(quota.lock_usage({"alice@local.test"}), "alice@local.test", -900, -1);  // an expunge
  EXPECT_EQ(quota.check_rcpt("alice@local.test", 0), Room::Ok);
}

// The race the usage lock closes: a recount (maildirsize missing) between a
// delivery's rename into new/ and its delta would count the message twice.
TEST_F(QuotaFixture, RecountWaitsForAChangeAndItsDelta) {
  std::atomic<bool> reserved{false};
  std::thread counter;
  {
    UsageLock held = quota.lock_usage({"alice@local.test", "ALICE@local.test", "bob@local.test"});
    write(box + "/new/1.M1P1.h,S=300", "x");  // the delivery's rename
    counter = std::thread([&] {
      EXPECT_TRUE(quota.reserve("alice@local.test", 10).ok());  // recounts: no maildirsize
      reserved = true;
    });
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(reserved) << "the recount waited for the delta";
    quota.add(held, "alice@local.test", 300, 1);
  }
  counter.join();
  auto usage = peek_usage(box);
  ASSERT_TRUE(usage);
  EXPECT_EQ(*usage, (QuotaUsage{300, 1})) << size_file();
}

TEST_F(QuotaFixture, UnlimitedOrUnknownLimitIsNeverRefused) {
  limit = 0;
  write(box + "/maildirsize", "0S\n99999 1\n");
  EXPECT_EQ(quota.check_rcpt("alice@local.test", 99999), Room::Ok);
  EXPECT_TRUE(quota.reserve("alice@local.test", 99999).ok());
  MailboxQuota broken{root, [](const std::string&) -> Result<uint64_t> { return make_error(ErrorCode::Io, "db"); }};
  EXPECT_EQ(broken.check_rcpt("alice@local.test", 99999), Room::Ok);
  EXPECT_TRUE(broken.reserve("alice@local.test", 99999).ok());
}

// ---- local delivery --------------------------------------------------------

queue::Message message(std::string content) {
  queue::Message m;
  m.envelope.sender = "bob@remote.test";
  m.envelope.received_at = 1'700'000'000;
  queue::Recipient r;
  r.address = "alice@local.test";
  m.envelope.recipients.push_back(r);
  m.content = std::move(content);
  return m;
}

TEST_F(QuotaFixture, DeliveryRecordsUsageAndDefersAFullMailbox) {
  delivery::MaildirTarget target(root, "mx.local.test", posix_file_system(), &quota);
  auto first = delivery::deliver_through(target, message(std::string(500, 'a')), {0});
  ASSERT_EQ(first[0].status, delivery::Status::Sent) << first[0].reply;
  auto usage = peek_usage(box);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->count, 1);
  EXPECT_GT(usage->bytes, 500);

  auto second = delivery::deliver_through(target, message(std::string(500, 'b')), {0});
  EXPECT_EQ(second[0].status, delivery::Status::Deferred);
  EXPECT_EQ(second[0].enhanced, "4.2.2");
  EXPECT_EQ(second[0].expired_enhanced, "5.2.2");

  auto huge = delivery::deliver_through(target, message(std::string(2000, 'c')), {0});
  EXPECT_EQ(huge[0].status, delivery::Status::Bounced);
  EXPECT_EQ(huge[0].enhanced, "5.2.2");
}

TEST(QuotaExpiry, FullMailboxExpiresAs522Not422) {
  queue::Envelope env;
  env.sender = "bob@remote.test";
  env.received_at = 1'700'000'000;
  queue::Recipient r;
  r.address = "alice@local.test";
  env.recipients.push_back(r);
  delivery::RcptOutcome o = delivery::local_outcome(delivery::Status::Deferred, "4.2.2", "mailbox full", "local");
  o.expired_enhanced = "5.2.2";
  std::vector<std::optional<delivery::RcptOutcome>> outcomes{o};
  delivery::RoundPolicy policy;
  policy.max_age = 3600s;
  auto result = delivery::apply_round(env, outcomes, (env.received_at + 7200) * 1000, policy);
  EXPECT_TRUE(result.finished);
  ASSERT_TRUE(outcomes[0]);
  EXPECT_EQ(outcomes[0]->status, delivery::Status::Bounced);
  EXPECT_EQ(outcomes[0]->enhanced, "5.2.2");
  EXPECT_EQ(result.failed.size(), 1u);
}

// Rounds of simultaneous deliveries to one mailbox whose maildirsize was
// just removed, so that each round's first delivery recounts while the
// others rename and append: after each round the usage equals the files.
TEST_F(QuotaFixture, ConcurrentDeliveriesAndRecountsAgreeWithTheFiles) {
  // Unlimited: no reserve() recounts before the renames; the first add()
  // recounts after them (the e2e race: a first delivery to a new mailbox).
  limit = 0;
  delivery::MaildirTarget target(root, "mx.local.test", posix_file_system(), &quota);
  constexpr int kThreads = 3;
  for (int round = 0; round < 40; ++round) {
    ::unlink((box + "/maildirsize").c_str());
    std::atomic<int> ready{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < kThreads; ++t)
      senders.emplace_back([&] {
        ++ready;
        while (ready < kThreads) std::this_thread::yield();
        auto r = delivery::deliver_through(target, message(std::string(100, 'x')), {0});
        EXPECT_EQ(r[0].status, delivery::Status::Sent) << r[0].reply;
      });
    for (auto& s : senders) s.join();
    auto recorded = peek_usage(box);
    ASSERT_TRUE(recorded) << size_file();
    auto actual = scan_usage(box);
    ASSERT_TRUE(actual);
    ASSERT_EQ(actual->count, (round + 1) * kThreads);
    ASSERT_EQ(*recorded, *actual) << "round " << round << ":\n" << size_file();
  }
}

}  // namespace
