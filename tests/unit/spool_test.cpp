// FileSpool: durable write, read back byte for byte, crash leftovers cleaned,
// envelope text form round-trips whatever bytes a client sent.
#include "queue/file_spool.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>

#include "queue/queue_id.hpp"

namespace volley::queue {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/volley-spool-XXXXXX";
  return mkdtemp(tmpl);
}

Message sample() {
  Message m;
  m.envelope.id = make_queue_id();
  m.envelope.sender = "a b%c@example.org";
  Recipient r;
  r.address = "alice@local.test";
  r.original = "Sales@Local.Test";
  r.notify = 6;
  r.orcpt_type = "rfc822";
  r.orcpt_address = "x\ny@z";
  m.envelope.recipients.push_back(r);
  m.envelope.helo = "\xff\x01 weird";
  m.envelope.received_at = 1700000000;
  m.envelope.attempts.push_back(Attempt{1700000100, "alice@local.test", "deferred", "mx.example [192.0.2.1]", "451 4.7.1 try later"});
  m.content = std::string("Subject: t\r\n\r\n\0binary\xff\r\n", 24);
  return m;
}

TEST(QueueId, SortableAndUnique) {
  std::set<std::string> ids;
  std::string prev;
  for (int i = 0; i < 10000; ++i) {
    auto id = make_queue_id();
    EXPECT_TRUE(is_valid_queue_id(id)) << id;
    EXPECT_TRUE(ids.insert(id).second);
    if (!prev.empty()) {
      EXPECT_LE(prev.substr(0, 11), id.substr(0, 11));
    }
    prev = id;
  }
  EXPECT_FALSE(is_valid_queue_id("../etc/passwd"));
}

TEST(Envelope, RoundTrip) {
  Message m = sample();
  Envelope back;
  ASSERT_TRUE(parse_envelope(serialize_envelope(m.envelope), back));
  EXPECT_EQ(back.id, m.envelope.id);
  EXPECT_EQ(back.sender, m.envelope.sender);
  EXPECT_EQ(back.helo, m.envelope.helo);
  ASSERT_EQ(back.recipients.size(), 1u);
  EXPECT_EQ(back.recipients[0].orcpt_address, "x\ny@z");
  EXPECT_EQ(back.recipients[0].original, "Sales@Local.Test");
  EXPECT_EQ(back.recipients[0].notify, 6u);
  EXPECT_EQ(back.received_at, 1700000000);
  EXPECT_EQ(back.auth_user, "");
  ASSERT_EQ(back.attempts.size(), 1u);
  EXPECT_EQ(back.attempts[0].reply, "451 4.7.1 try later");
  EXPECT_EQ(back.attempts[0].at, 1700000100);
}

TEST(FileSpool, CommitThenReadBack) {
  std::string dir = temp_dir();
  auto spool = FileSpool::open(dir);
  ASSERT_TRUE(spool.ok()) << spool.error().message;
  auto m = std::make_shared<Message>(sample());
  std::promise<CommitResult> done;
  (*spool)->commit(m, [&](CommitResult r) { done.set_value(r); });
  EXPECT_EQ(done.get_future().get().status, CommitStatus::Ok);
  auto back = (*spool)->read(m->envelope.id);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->content, m->content);
  EXPECT_EQ((*spool)->list_ids(), std::vector<std::string>{m->envelope.id});
  EXPECT_TRUE(std::filesystem::is_empty(dir + "/spool/tmp"));
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/spool/msg/" + m->envelope.id).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove_all(dir);
}

TEST(FileSpool, LeftoversInTmpRemovedAtOpen) {
  std::string dir = temp_dir();
  { auto s = FileSpool::open(dir); ASSERT_TRUE(s.ok()); }
  std::ofstream(dir + "/spool/tmp/HALFWRITTEN") << "partial";
  auto s = FileSpool::open(dir);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(std::filesystem::is_empty(dir + "/spool/tmp"));
  std::filesystem::remove_all(dir);
}

TEST(FileSpool, FailureLeavesNothing) {
  std::string dir = temp_dir();
  auto s = FileSpool::open(dir);
  ASSERT_TRUE(s.ok());
  // Make msg/ unwritable for rename: the commit must fail cleanly.
  std::filesystem::remove_all(dir + "/spool/msg");
  Message m = sample();
  auto r = (*s)->write_durably(m);
  EXPECT_NE(r.status, CommitStatus::Ok);
  EXPECT_TRUE(std::filesystem::is_empty(dir + "/spool/tmp"));
  std::filesystem::remove_all(dir);
}

TEST(FileSpool, ManyConcurrentCommits) {
  std::string dir = temp_dir();
  auto s = FileSpool::open(dir, 4);
  ASSERT_TRUE(s.ok());
  std::atomic<int> ok{0};
  for (int i = 0; i < 200; ++i) {
    auto m = std::make_shared<Message>(sample());
    (*s)->commit(m, [&](CommitResult r) { ok += r.status == CommitStatus::Ok; });
  }
  (*s)->shutdown();  // waits for every job
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ((*s)->list_ids().size(), 200u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace volley::queue
