// LogSpool: group commit, read back byte for byte, recovery after reopen,
// torn tails cut, corrupt regions skipped, durable deletes, segment reclaim.
#include "queue/log_spool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "queue/queue_id.hpp"
#include "queue/record.hpp"

#include "temp_dir.hpp"

namespace volley::queue {
namespace {
namespace fs = std::filesystem;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("log") {}
};

std::shared_ptr<Message> make_message(int i, size_t body = 100) {
  auto m = std::make_shared<Message>();
  m->envelope.id = make_queue_id();
  m->envelope.sender = "sender" + std::to_string(i) + "@example.org";
  Recipient r;
  r.address = i % 2 ? "alice@local.test" : "bob@Remote.Example";
  m->envelope.recipients.push_back(r);
  m->envelope.received_at = 1700000000 + i;
  m->content = "Subject: " + std::to_string(i) + "\r\n\r\n" + std::string(body, static_cast<char>('a' + i % 26)) + "\r\n";
  m->content += std::string("\0\xff binary\r\n", 11);
  return m;
}

Result<void> commit_sync(LogSpool& s, std::shared_ptr<const Message> m) {
  std::promise<Result<void>> p;
  s.commit(std::move(m), [&](Result<void> r) { p.set_value(r); });
  return p.get_future().get();
}

std::string only_segment(const std::string& dir) {
  std::string last;
  for (auto& e : fs::directory_iterator(dir + "/queue")) last = std::max(last, e.path().string());
  return last;
}

TEST(LogSpool, CommitShowAndList) {
  TempDir d;
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto m = make_message(1);
  ASSERT_TRUE(commit_sync(**s, m).ok());
  auto back = (*s)->show(m->envelope.id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->content, m->content);
  EXPECT_EQ(back->envelope.sender, m->envelope.sender);
  auto l = (*s)->list({});
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].id, m->envelope.id);
  EXPECT_EQ(l[0].recipients, 1u);
  EXPECT_EQ(l[0].size, m->content.size());
  EXPECT_EQ(l[0].state, "queued");
  EXPECT_EQ((*s)->list({.state = "", .domain = "alice.example", .limit = 0}).size(), 0u);
  EXPECT_EQ((*s)->list({.state = "", .domain = "LOCAL.test", .limit = 0}).size(), 1u);
}

TEST(LogSpool, ConcurrentCommitsShareSyncs) {
  TempDir d;
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i)
        ok += commit_sync(**s, make_message(t * 1000 + i)).ok();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
  EXPECT_EQ((*s)->count(), 800u);
  auto st = (*s)->commit_stats();
  EXPECT_EQ(st.records, 800u);
  EXPECT_LT(st.batches, 800u) << "group commit: concurrent writers share fdatasyncs";
}

TEST(LogSpool, RecoversEverythingAfterReopen) {
  TempDir d;
  std::vector<std::shared_ptr<Message>> sent;
  {
    auto s = LogSpool::open(d.path);
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 50; ++i) {
      sent.push_back(make_message(i, 10 * i));
      ASSERT_TRUE(commit_sync(**s, sent.back()).ok());
    }
    ASSERT_TRUE((*s)->remove(sent[3]->envelope.id).ok());
    EXPECT_FALSE((*s)->remove(sent[3]->envelope.id).ok()) << "second delete: no such message";
  }
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->count(), 49u);
  EXPECT_EQ((*s)->recovery().messages, 49u);
  EXPECT_FALSE((*s)->show(sent[3]->envelope.id));
  for (int i = 0; i < 50; ++i) {
    if (i == 3) continue;
    auto back = (*s)->show(sent[i]->envelope.id);
    ASSERT_TRUE(back) << i;
    EXPECT_EQ(back->content, sent[i]->content);
  }
}

TEST(LogSpool, TornTailIsCutAndLaterWritesSurvive) {
  TempDir d;
  auto keep = make_message(1);
  {
    auto s = LogSpool::open(d.path);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(commit_sync(**s, keep).ok());
  }
  // A crash in the middle of writing the next record leaves half of it.
  std::string half = encode_message_record(*make_message(2));
  half.resize(half.size() / 2);
  std::string seg = only_segment(d.path);
  auto before = fs::file_size(seg);
  std::ofstream(seg, std::ios::app | std::ios::binary) << half;
  {
    auto s = LogSpool::open(d.path);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ((*s)->count(), 1u);
    EXPECT_EQ((*s)->recovery().truncated_bytes, half.size());
    EXPECT_EQ(fs::file_size(seg), before);
    ASSERT_TRUE(commit_sync(**s, make_message(3)).ok());
  }
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->count(), 2u);
  EXPECT_EQ((*s)->recovery().truncated_bytes, 0u);
}

TEST(LogSpool, CorruptRecordIsSkippedOthersKept) {
  TempDir d;
  std::vector<std::shared_ptr<Message>> sent;
  {
    auto s = LogSpool::open(d.path);
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 3; ++i) {
      sent.push_back(make_message(i, 500));
      ASSERT_TRUE(commit_sync(**s, sent.back()).ok());
    }
  }
  // Flip a byte inside the second record's content.
  std::string seg = only_segment(d.path);
  size_t first = encode_message_record(*sent[0]).size();
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(first + 200));
    f.put('#');
  }
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->count(), 2u);
  EXPECT_TRUE((*s)->show(sent[0]->envelope.id));
  EXPECT_FALSE((*s)->show(sent[1]->envelope.id));
  EXPECT_TRUE((*s)->show(sent[2]->envelope.id));
  EXPECT_GT((*s)->recovery().skipped_bytes, 0u);
}

TEST(LogSpool, SegmentsRollAndAreReclaimedOldestFirst) {
  TempDir d;
  std::vector<std::string> ids;
  {
    auto s = LogSpool::open(d.path, LogSpool::Options{.segment_bytes = 4096});
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 40; ++i) {
      auto m = make_message(i, 400);
      ids.push_back(m->envelope.id);
      ASSERT_TRUE(commit_sync(**s, m).ok());
    }
    size_t segs = std::distance(fs::directory_iterator(d.path + "/queue"), fs::directory_iterator{});
    EXPECT_GT(segs, 3u);
    for (int i = 0; i < 39; ++i) ASSERT_TRUE((*s)->remove(ids[i]).ok());
    size_t after = std::distance(fs::directory_iterator(d.path + "/queue"), fs::directory_iterator{});
    EXPECT_LE(after, 2u) << "segments with nothing live are removed";
  }
  auto s = LogSpool::open(d.path, LogSpool::Options{.segment_bytes = 4096});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->count(), 1u);
  EXPECT_TRUE((*s)->show(ids[39]));
}

Result<void> update_sync(LogSpool& s, const Envelope& env) {
  std::promise<Result<void>> p;
  s.update(env, [&](Result<void> r) { p.set_value(r); });
  return p.get_future().get();
}

Result<void> erase_sync(LogSpool& s, const std::string& id) {
  std::promise<Result<void>> p;
  s.erase(id, [&](Result<void> r) { p.set_value(r); });
  return p.get_future().get();
}

TEST(LogSpool, UpdateReplacesEnvelopeKeepsContentAndSurvivesReopen) {
  TempDir d;
  auto m = make_message(3);
  Envelope env = m->envelope;
  {
    auto s = LogSpool::open(d.path);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(commit_sync(**s, m).ok());
    env.recipients[0].state = RecipientState::Deferred;
    env.attempts.push_back(Attempt{1700000100, env.recipients[0].address, "deferred", "mx.example[127.0.0.2]:25", "451 4.3.0 try later"});
    env.deferrals = 1;
    env.next_attempt = 1700000160;
    ASSERT_TRUE(update_sync(**s, env).ok());
    auto back = (*s)->load(m->envelope.id);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->content, m->content);
    EXPECT_EQ(back->envelope.recipients[0].state, RecipientState::Deferred);
    ASSERT_EQ(back->envelope.attempts.size(), 1u);
    ListFilter f;
    f.state = "deferred";
    auto l = (*s)->list(f);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].next_attempt, 1700000160);
    EXPECT_EQ(l[0].size, m->content.size()) << "an update keeps the content size";
    // A second update wins over the first.
    env.attempts.push_back(Attempt{1700000200, env.recipients[0].address, "deferred", "x", "451 again"});
    env.deferrals = 2;
    ASSERT_TRUE(update_sync(**s, env).ok());
  }
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok());
  auto back = (*s)->load(m->envelope.id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->content, m->content);
  EXPECT_EQ(back->envelope.deferrals, 2u);
  EXPECT_EQ(back->envelope.next_attempt, 1700000160);
  EXPECT_EQ(back->envelope.attempts.size(), 2u);
  size_t visited = 0;
  (*s)->visit([&](const QueueEntry& e) {
    ++visited;
    EXPECT_EQ(e.state, "deferred");
  });
  EXPECT_EQ(visited, 1u);
}

TEST(LogSpool, EraseAndUpdateOfUnknownIdAreHarmless) {
  TempDir d;
  auto m = make_message(4);
  {
    auto s = LogSpool::open(d.path);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(commit_sync(**s, m).ok());
    ASSERT_TRUE(erase_sync(**s, m->envelope.id).ok());
    // Delivery finishing after an admin delete: the update is dead.
    ASSERT_TRUE(update_sync(**s, m->envelope).ok());
    EXPECT_EQ((*s)->count(), 0u);
    EXPECT_FALSE((*s)->load(m->envelope.id));
  }
  auto s = LogSpool::open(d.path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->count(), 0u) << "an update after a delete must not resurrect the message";
}

TEST(LogSpool, UpdatesKeepTheirSegmentsUntilReplaced) {
  TempDir d;
  std::vector<std::shared_ptr<Message>> ms;
  {
    auto s = LogSpool::open(d.path, LogSpool::Options{.segment_bytes = 2048});
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 20; ++i) {
      ms.push_back(make_message(i, 300));
      ASSERT_TRUE(commit_sync(**s, ms.back()).ok());
    }
    // Message 0 is updated many times (rolling segments); everything else
    // is erased, so only segments holding message 0's record or its newest
    // update may stay.
    Envelope env = ms[0]->envelope;
    for (int round = 0; round < 30; ++round) {
      env.deferrals = static_cast<uint32_t>(round + 1);
      env.attempts.assign(1, Attempt{round, "x@y", "deferred", "r", std::string(200, 'r')});
      ASSERT_TRUE(update_sync(**s, env).ok());
    }
    for (int i = 1; i < 20; ++i) ASSERT_TRUE(erase_sync(**s, ms[i]->envelope.id).ok());
  }
  auto s = LogSpool::open(d.path, LogSpool::Options{.segment_bytes = 2048});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->count(), 1u);
  auto back = (*s)->load(ms[0]->envelope.id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->envelope.deferrals, 30u);
  EXPECT_EQ(back->content, ms[0]->content);
}

TEST(LogSpool, RecordDecoderRejectsGarbage) {
  RecordView v{};
  EXPECT_EQ(decode_record("VQR1", v), DecodeStatus::NeedMore);
  EXPECT_EQ(decode_record(std::string(20, 'x'), v), DecodeStatus::Corrupt);
  std::string rec = encode_delete_record("ABC");
  EXPECT_EQ(decode_record(rec, v), DecodeStatus::Ok);
  EXPECT_EQ(v.payload, "ABC");
  rec[14] ^= 1;
  EXPECT_EQ(decode_record(rec, v), DecodeStatus::Corrupt);
}

}  // namespace
}  // namespace volley::queue
