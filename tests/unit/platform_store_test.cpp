// The platform's SQLite stores: suppressions per sender domain, the event
// log's cursor and dedup, message history and campaign counts — and that
// what they commit is there for the next process that opens the file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>
#include <vector>

#include "platform/campaign_store.hpp"
#include "platform/event_log.hpp"
#include "platform/message_history.hpp"
#include "platform/platform_db.hpp"
#include "platform/suppression_list.hpp"
#include "temp_dir.hpp"

using namespace volley;
using namespace volley::platform;

namespace {

HistoryRecipient rcpt(std::string address, std::string state = kStateQueued) {
  HistoryRecipient r;
  r.address = std::move(address);
  r.state = std::move(state);
  return r;
}

struct PlatformStore : ::testing::Test {
  test::TempDir tmp{"platform"};
  std::string path = tmp.path + "/data/platform.db";
  std::unique_ptr<PlatformDb> db = open();
  std::unique_ptr<PlatformDb> open() {
    auto r = PlatformDb::open(path);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? std::move(*r) : nullptr;
  }
};

TEST_F(PlatformStore, DatabaseIsPrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((tmp.path + "/data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(PlatformStore, SuppressionsArePerSenderDomainOrGlobal) {
  SuppressionList list(*db);
  ASSERT_TRUE(list.add({"Example.COM", "Bob@Remote.test", SuppressionReason::HardBounce, 100, "550 5.1.1 no such user"}));
  ASSERT_TRUE(list.add({"", "eve@remote.test", SuppressionReason::Manual, 101, ""}));

  auto bob = list.find("example.com", "bob@remote.test");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(bob->has_value());
  EXPECT_EQ((*bob)->reason, SuppressionReason::HardBounce);
  EXPECT_EQ((*bob)->detail, "550 5.1.1 no such user");
  auto other_domain = list.find("other.example", "bob@remote.test");
  ASSERT_TRUE(other_domain);
  EXPECT_FALSE(other_domain->has_value()) << "a bounce for example.com does not stop other senders";
  auto eve = list.find("anything.example", "EVE@remote.test");
  ASSERT_TRUE(eve);
  ASSERT_TRUE(eve->has_value()) << "a global entry stops every sender domain";

  // Replacing keeps one entry with the newer reason.
  ASSERT_TRUE(list.add({"example.com", "bob@remote.test", SuppressionReason::Unsubscribe, 200, ""}));
  auto page = list.list("", "", 10);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].address, "bob@remote.test");
  EXPECT_EQ((*page)[0].reason, SuppressionReason::Unsubscribe);
  auto second = list.list((*page)[0].address, (*page)[0].domain, 10);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].address, "eve@remote.test");

  ASSERT_TRUE(list.remove(std::string("example.com"), "bob@remote.test"));
  auto gone = list.remove(std::string("example.com"), "bob@remote.test");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::NotFound);
  ASSERT_TRUE(list.remove(std::nullopt, "eve@remote.test"));
}

TEST_F(PlatformStore, SuppressionReasonsRoundTrip) {
  for (auto r : {SuppressionReason::HardBounce, SuppressionReason::Complaint, SuppressionReason::Unsubscribe,
                 SuppressionReason::Manual})
    EXPECT_EQ(parse_reason(reason_name(r)), r);
  EXPECT_FALSE(parse_reason("bounced"));
}

TEST_F(PlatformStore, EventsPageByCursorAndFilterByType) {
  EventLog log(*db);
  std::vector<Event> batch;
  for (int i = 0; i < 5; ++i) {
    Event e;
    e.at = 1000 + i;
    e.type = i % 2 ? EventType::Delivered : EventType::Received;
    e.message_id = "m" + std::to_string(i);
    e.recipient = "r@x.test";
    batch.push_back(e);
  }
  ASSERT_TRUE(log.append(batch));
  EXPECT_LT(batch[0].id, batch[4].id);

  auto first = log.list(0, nullptr, 2);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->events.size(), 2u);
  EXPECT_EQ(first->events[0].message_id, "m0");
  auto rest = log.list(first->next, nullptr, 100);
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->events.size(), 3u);
  EXPECT_EQ(rest->events[0].message_id, "m2");
  EXPECT_EQ(rest->events[0].detail, "{}");
  auto end = log.list(rest->next, nullptr, 100);
  ASSERT_TRUE(end);
  EXPECT_TRUE(end->events.empty());
  EXPECT_EQ(end->next, rest->next) << "an empty page keeps the cursor";

  EventType delivered = EventType::Delivered;
  auto only = log.list(0, &delivered, 100);
  ASSERT_TRUE(only);
  ASSERT_EQ(only->events.size(), 2u);
  EXPECT_EQ(only->events[1].message_id, "m3");
}

TEST_F(PlatformStore, DedupKeyStoresAReplayedEventOnce) {
  EventLog log(*db);
  for (int i = 0; i < 2; ++i) {
    Event e;
    e.type = EventType::Received;
    e.message_id = "q1";
    e.dedup = "received:q1";
    std::vector<Event> one{e};
    ASSERT_TRUE(log.append(one));
  }
  auto all = log.list(0, nullptr, 10);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->events.size(), 1u);
}

TEST_F(PlatformStore, CommittedEventsAndHistoryAreThereAfterReopening) {
  {
    EventLog log(*db);
    std::vector<Event> one(1);
    one[0].type = EventType::Bounced;
    one[0].campaign = "c1";
    ASSERT_TRUE(log.append(one));
    MessageHistory history(*db);
    ASSERT_TRUE(history.record({"q1", 5, "a@x.test", "hi", "[\"t\"]", "c1", {rcpt("b@y.test"), rcpt("c@y.test")}}));
  }
  db.reset();
  db = open();
  EventLog log(*db);
  auto n = log.count_for_campaign("c1", EventType::Bounced);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  MessageHistory history(*db);
  auto m = history.find("q1");
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ((*m)->recipients.size(), 2u);
}

TEST_F(PlatformStore, AtomicallySpansStoresAndTakesEverythingBackOnFailure) {
  EventLog log(*db);
  MessageHistory history(*db);
  auto event_for = [](const char* campaign) {
    std::vector<Event> one(1);
    one[0].type = EventType::Received;
    one[0].campaign = campaign;
    return one;
  };
  // A failure after both writes: neither stays.
  auto failed = db->atomically([&]() -> Result<void> {
    EXPECT_TRUE(history.record({"q1", 5, "a@x.test", "hi", "[]", "c1", {rcpt("b@y.test")}}));
    auto one = event_for("c1");
    EXPECT_TRUE(log.append(one));
    return make_error("the queue commit failed");
  });
  ASSERT_FALSE(failed);
  auto none = history.find("q1");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value()) << "the history row was rolled back with the event";
  EXPECT_EQ(*log.count_for_campaign("c1", EventType::Received), 0);
  // Success: both, in one commit, and the stores work on their own after.
  ASSERT_TRUE(db->atomically([&]() -> Result<void> {
    if (auto r = history.record({"q2", 5, "a@x.test", "hi", "[]", "c2", {rcpt("b@y.test")}}); !r) return r;
    auto one = event_for("c2");
    return log.append(one);
  }));
  auto two = event_for("c2");
  ASSERT_TRUE(log.append(two));
  EXPECT_EQ(*log.count_for_campaign("c2", EventType::Received), 2);
  auto q2 = history.find("q2");
  ASSERT_TRUE(q2 && q2->has_value());
}

// Built piecewise: GCC 12 at -O3 warns falsely (-Wrestrict) on "lit" + std::string.
std::string writer_id(int t, int i) {
  std::string id = "t";
  id += std::to_string(t);
  id += '-';
  id += std::to_string(i);
  return id;
}

TEST_F(PlatformStore, GroupedWritersShareCommitsButFailAlone) {
  MessageHistory history(*db);
  constexpr int kThreads = 16, kEach = 40;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string id = writer_id(t, i);
        const bool fail = i % 10 == 3;  // writes, then fails: only its own row may go
        auto r = db->grouped([&]() -> Result<void> {
          if (auto w = history.record({id, 5, "a@x.test", "hi", "[]", "", {rcpt("b@y.test")}}); !w) return w;
          if (fail) return make_error("this one fails");
          return {};
        });
        if (static_cast<bool>(r) == fail) ++failed;  // a wrong answer
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed, 0) << "each caller gets its own result";
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kEach; ++i) {
      auto m = history.find(writer_id(t, i));
      ASSERT_TRUE(m);
      EXPECT_EQ(m->has_value(), i % 10 != 3) << t << "-" << i;
    }
}

TEST_F(PlatformStore, HistoryFollowsDeliveryRoundsAndCountsCampaigns) {
  MessageHistory history(*db);
  CampaignStore campaigns(*db);
  CampaignJob job;
  job.total = 4;
  job.request = "{}";
  ASSERT_TRUE(campaigns.create({"c9", 10, "news@x.test", "Hello {{name}}", "[]"}, job));
  HistoryMessage m{"q1", 10, "news@x.test", "Hello", "[]", "c9", {}};
  m.recipients = {rcpt("a@y.test"), rcpt("b@y.test"), rcpt("c@y.test", kStateSuppressed)};
  ASSERT_TRUE(history.record(m));
  ASSERT_TRUE(history.record({"q2", 10, "news@x.test", "Hello", "[]", "c9", {rcpt("d@y.test")}}));

  ASSERT_TRUE(history.update("q1", {{"a@y.test", kStateDeferred, "451 4.7.1 try later"}}));
  ASSERT_TRUE(history.update("q1", {{"a@y.test", kStateDelivered, "250 ok"}, {"b@y.test", kStateBounced, "550 5.1.1 unknown"}}));
  ASSERT_TRUE(history.update("not-tracked", {{"x@y.test", kStateDelivered, "250"}})) << "unknown messages are ignored";

  auto found = history.find("q1");
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  const auto& r = (*found)->recipients;
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].address, "a@y.test");
  EXPECT_EQ(r[0].state, kStateDelivered);
  EXPECT_EQ(r[0].attempts, 2);
  EXPECT_EQ(r[0].last_reply, "250 ok");
  EXPECT_EQ(r[1].state, kStateBounced);
  EXPECT_EQ(r[1].attempts, 1);
  EXPECT_EQ(r[2].state, kStateSuppressed);

  auto counts = history.campaign_counts("c9");
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->delivered, 1);
  EXPECT_EQ(counts->bounced, 1);
  EXPECT_EQ(counts->suppressed, 1);
  EXPECT_EQ(counts->queued, 1);
  auto campaign = history.find_campaign("c9");
  ASSERT_TRUE(campaign);
  ASSERT_TRUE(campaign->has_value());
  EXPECT_EQ((*campaign)->subject, "Hello {{name}}");

  auto removed = history.trim(11);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 2);
  auto after = history.find("q1");
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->has_value());
  auto none = history.campaign_counts("c9");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->queued + none->delivered + none->bounced + none->suppressed, 0);
}

}  // namespace

TEST_F(PlatformStore, CampaignJobsResumeFromTheirLastBatch) {
  CampaignStore campaigns(*db);
  CampaignJob job;
  job.request = R"({"from":"a@x.test"})";
  job.total = 1000;
  job.client_ip = "192.0.2.7";
  job.key_name = "shop";
  ASSERT_TRUE(campaigns.create({"c1", 10, "a@x.test", "s", "[]"}, job));
  ASSERT_TRUE(campaigns.create({"c2", 11, "a@x.test", "s", "[]"}, job));
  ASSERT_TRUE(campaigns.advance("c1", 256, false));
  ASSERT_TRUE(campaigns.advance("c2", 1000, true));

  // What a restart sees: another process opening the same file.
  db.reset();
  db = open();
  CampaignStore reopened(*db);
  auto jobs = reopened.unfinished();
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u) << "a finished campaign is not resumed";
  EXPECT_EQ((*jobs)[0].id, "c1");
  EXPECT_EQ((*jobs)[0].next_index, 256);
  EXPECT_EQ((*jobs)[0].total, 1000);
  EXPECT_EQ((*jobs)[0].request, job.request);
  EXPECT_EQ((*jobs)[0].client_ip, "192.0.2.7");
  EXPECT_EQ((*jobs)[0].key_name, "shop");

  auto done = reopened.progress("c2");
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->has_value());
  EXPECT_TRUE((*done)->done);
  EXPECT_EQ((*done)->next_index, 1000);
  auto unknown = reopened.progress("nope");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->has_value());

  auto trimmed = reopened.trim(100);
  ASSERT_TRUE(trimmed);
  EXPECT_EQ(*trimmed, 1) << "only finished jobs are trimmed";
}

TEST_F(PlatformStore, CampaignRecipientIsFoundByCampaignAndAddress) {
  MessageHistory history(*db);
  std::vector<HistoryMessage> batch = {{"q1", 10, "n@x.test", "s", "[]", "c1", {rcpt("a@y.test")}},
                                       {"q2", 10, "n@x.test", "s", "[]", "c1", {rcpt("b@y.test", kStateSuppressed)}},
                                       {"q3", 10, "n@x.test", "s", "[]", "c2", {rcpt("a@y.test")}}};
  ASSERT_TRUE(history.record_batch(batch));
  auto a = history.find_campaign_recipient("c1", "a@y.test");
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->message_id, "q1");
  EXPECT_EQ((*a)->state, kStateQueued);
  auto b = history.find_campaign_recipient("c1", "b@y.test");
  ASSERT_TRUE(b && b->has_value());
  EXPECT_EQ((*b)->state, kStateSuppressed);
  auto other = history.find_campaign_recipient("c2", "a@y.test");
  ASSERT_TRUE(other && other->has_value());
  EXPECT_EQ((*other)->message_id, "q3");
  auto none = history.find_campaign_recipient("c1", "z@y.test");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}
