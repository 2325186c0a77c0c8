// Local delivery through the DeliveryTarget interface, with fault
// injection: fail the Nth file-system operation (open, write, fsync,
// rename, fsync_dir, mkdir) for N = 1, 2, ... until delivery succeeds.
// Every failure must leave no file in new/ or tmp/ and be a temporary error
// (ENOSPC -> NoSpace, deferred with 4.3.1); nothing is visible before commit.
#include "delivery/maildir_target.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <filesystem>
#include <set>

#include "queue/log_spool.hpp"
#include "temp_dir.hpp"

namespace volley::delivery {
namespace {

namespace stdfs = std::filesystem;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("target") {}
};

size_t files_in(const std::string& dir) {
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) return 0;
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : stdfs::directory_iterator(dir)) ++n;
  return n;
}

queue::Message message(std::vector<std::string> rcpts) {
  queue::Message m;
  m.envelope.id = "00000000000000000009";
  m.envelope.sender = "alice@local.test";
  for (auto& r : rcpts) {
    queue::Recipient x;
    x.address = r;
    m.envelope.recipients.push_back(x);
  }
  m.content = "Subject: t\r\n\r\nbody\r\n";
  return m;
}

size_t leftovers(const std::string& root, const std::vector<std::string>& users) {
  size_t n = 0;
  for (const auto& u : users) n += files_in(root + "/local.test/" + u + "/new") + files_in(root + "/local.test/" + u + "/tmp");
  return n;
}

TEST(MaildirTarget, DeliversEveryRecipientWithItsOwnHeaders) {
  TempDir dir;
  MaildirTarget target(dir.path, "mx.test");
  auto m = message({"bob@local.test", "Carol@Local.Test"});
  auto outs = deliver_through(target, m, {0, 1});
  ASSERT_EQ(outs.size(), 2u);
  for (const auto& o : outs) EXPECT_EQ(o.status, Status::Sent) << o.reply;
  EXPECT_EQ(files_in(dir.path + "/local.test/bob/new"), 1u);
  EXPECT_EQ(files_in(dir.path + "/local.test/carol/new"), 1u);
  EXPECT_EQ(files_in(dir.path + "/local.test/bob/tmp"), 0u);
}

TEST(MaildirTarget, NothingIsVisibleBeforeCommitAndAbortLeavesNothing) {
  TempDir dir;
  MaildirTarget target(dir.path, "mx.test");
  auto m = message({"bob@local.test"});
  auto d = target.start(m.envelope, m.content.size());
  ASSERT_TRUE(d);
  ASSERT_TRUE((*d)->add_rcpt(m.envelope.recipients[0]));
  ASSERT_TRUE((*d)->body(m.content));
  EXPECT_EQ(files_in(dir.path + "/local.test/bob/new"), 0u) << "not visible before commit";
  EXPECT_EQ(files_in(dir.path + "/local.test/bob/tmp"), 1u);
  (*d)->abort();
  EXPECT_EQ(leftovers(dir.path, {"bob"}), 0u);
  // Destroying an uncommitted delivery is an abort too.
  {
    auto d2 = target.start(m.envelope, m.content.size());
    ASSERT_TRUE(d2);
    ASSERT_TRUE((*d2)->add_rcpt(m.envelope.recipients[0]));
    ASSERT_TRUE((*d2)->body(m.content));
  }
  EXPECT_EQ(leftovers(dir.path, {"bob"}), 0u);
}

TEST(MaildirTarget, AnAddressThatCannotBeAMailboxIsRefusedPermanentlyAlone) {
  TempDir dir;
  MaildirTarget target(dir.path, "mx.test");
  auto m = message({"../etc@local.test", "bob@local.test"});
  auto outs = deliver_through(target, m, {0, 1});
  EXPECT_EQ(outs[0].status, Status::Bounced);
  EXPECT_EQ(outs[0].enhanced, "5.1.3");
  EXPECT_EQ(outs[1].status, Status::Sent);
}

TEST(MaildirTarget, FailTheNthFileOperationUntilSuccess) {
  for (int fresh_mailbox = 0; fresh_mailbox < 2; ++fresh_mailbox) {
    TempDir dir;
    const std::vector<std::string> users{"bob", "carol"};
    if (!fresh_mailbox) {  // mailboxes exist: no mkdir in the path
      MaildirTarget warm(dir.path, "mx.test");
      auto m = message({"bob@local.test", "carol@local.test"});
      (void)deliver_through(warm, m, {0, 1});
      for (const auto& u : users)
        for (const auto& e : stdfs::directory_iterator(dir.path + "/local.test/" + u + "/new")) stdfs::remove(e.path());
    }
    bool succeeded = false;
    std::set<std::string> failed_ops;
    for (uint64_t n = 1; n < 200 && !succeeded; ++n) {
      FaultyFileSystem faulty;
      faulty.fail_at(n, ENOSPC);
      MaildirTarget target(dir.path, "mx.test", faulty);
      auto m = message({"bob@local.test", "carol@local.test"});
      auto outs = deliver_through(target, m, {0, 1});
      if (outs[0].status == Status::Sent) {
        EXPECT_EQ(outs[1].status, Status::Sent);
        EXPECT_LT(faulty.operations(), n) << "success only once no operation failed";
        succeeded = true;
        break;
      }
      ASSERT_LT(n - 1, faulty.log().size()) << outs[0].reply << " fresh=" << fresh_mailbox << " ops: " << ::testing::PrintToString(faulty.log());
      failed_ops.insert(faulty.log().at(n - 1));
      for (const auto& o : outs) {
        EXPECT_EQ(o.status, Status::Deferred) << "N=" << n << " " << o.reply;
        EXPECT_EQ(o.enhanced, "4.3.1") << "ENOSPC is NoSpace; N=" << n;
      }
      EXPECT_EQ(leftovers(dir.path, users), 0u) << "a failure leaves nothing; N=" << n << " failed "
                                                << faulty.log().at(n - 1);
    }
    EXPECT_TRUE(succeeded);
    // A fresh mailbox: the directories made before a failure stay, so the
    // run reaches success through the mkdirs; existing ones: every step fails once.
    if (fresh_mailbox) {
      EXPECT_TRUE(failed_ops.count("mkdir"));
    } else {
      for (const char* op : {"open", "write", "fsync", "rename", "fsync_dir"})
        EXPECT_TRUE(failed_ops.count(op)) << op << " was never failed";
    }
  }
}

TEST(MaildirTarget, ErrorsOtherThanAFullDiskAreTemporaryIo) {
  TempDir dir;
  FaultyFileSystem faulty;
  faulty.fail_at(1, EACCES, true);
  MaildirTarget target(dir.path, "mx.test", faulty);
  auto outs = deliver_through(target, message({"bob@local.test"}), {0});
  EXPECT_EQ(outs[0].status, Status::Deferred);
  EXPECT_EQ(outs[0].enhanced, "4.3.0");
}

// Inbound DMARC quarantine: the envelope's folder files the message into
// each mailbox's Maildir++ .Junk (created on first use), not INBOX.
TEST(MaildirTarget, JunkFolderMessagesGoToDotJunk) {
  TempDir dir;
  MaildirTarget target(dir.path, "mx.test");
  auto m = message({"bob@local.test", "carol@local.test"});
  m.envelope.folder = queue::kJunkFolder;
  auto outs = deliver_through(target, m, {0, 1});
  ASSERT_EQ(outs.size(), 2u);
  for (const auto& o : outs) EXPECT_EQ(o.status, Status::Sent) << o.reply;
  for (const char* u : {"bob", "carol"}) {
    const std::string box = dir.path + "/local.test/" + u;
    EXPECT_EQ(files_in(box + "/.Junk/new"), 1u) << u;
    EXPECT_EQ(files_in(box + "/.Junk/tmp"), 0u) << u;
    EXPECT_TRUE(stdfs::is_directory(box + "/.Junk/cur")) << u;
    EXPECT_EQ(files_in(box + "/new"), 0u) << u;
  }
  // The next ordinary message still lands in INBOX.
  m.envelope.folder.clear();
  deliver_through(target, m, {0});
  EXPECT_EQ(files_in(dir.path + "/local.test/bob/new"), 1u);
  EXPECT_EQ(files_in(dir.path + "/local.test/bob/.Junk/new"), 1u);
}

// A folder name that could leave the mailbox is never used as a path; the
// message is not lost over it either: it goes to INBOX.
TEST(MaildirTarget, UnusableFolderNameFallsBackToInbox) {
  TempDir dir;
  MaildirTarget target(dir.path, "mx.test");
  auto m = message({"bob@local.test"});
  for (const char* bad : {"../../x", ".Junk", "a/b", "Junk.Sub"}) {
    m.envelope.folder = bad;
    auto outs = deliver_through(target, m, {0});
    ASSERT_EQ(outs.size(), 1u);
    EXPECT_EQ(outs[0].status, Status::Sent) << bad;
  }
  EXPECT_EQ(files_in(dir.path + "/local.test/bob/new"), 4u);
  EXPECT_EQ(files_in(dir.path + "/local.test"), 1u);  // only bob's mailbox
  EXPECT_EQ(files_in(dir.path), 1u);
}

// In process, queue to mailbox: a quarantined message committed to the
// queue log, retried once (an update record rewrites its envelope), then
// read back after a restart is still filed into .Junk.
TEST(MaildirTarget, JunkFolderSurvivesTheQueueAndARestart) {
  TempDir dir;
  auto m = std::make_shared<queue::Message>(message({"bob@local.test"}));
  m->envelope.folder = queue::kJunkFolder;
  {
    auto spool = queue::LogSpool::open(dir.path + "/spool");
    ASSERT_TRUE(spool.ok()) << spool.error().message;
    std::promise<Result<void>> committed, updated;
    (*spool)->commit(m, [&](Result<void> r) { committed.set_value(r); });
    ASSERT_TRUE(committed.get_future().get().ok());
    queue::Envelope retried = m->envelope;
    retried.deferrals = 1;
    (*spool)->update(retried, [&](Result<void> r) { updated.set_value(r); });
    ASSERT_TRUE(updated.get_future().get().ok());
  }
  auto spool = queue::LogSpool::open(dir.path + "/spool");
  ASSERT_TRUE(spool.ok()) << spool.error().message;
  auto back = (*spool)->load(m->envelope.id);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->envelope.deferrals, 1u);
  EXPECT_EQ(back->envelope.folder, "Junk");
  MaildirTarget target(dir.path + "/mail", "mx.test");
  auto outs = deliver_through(target, *back, {0});
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].status, Status::Sent) << outs[0].reply;
  EXPECT_EQ(files_in(dir.path + "/mail/local.test/bob/.Junk/new"), 1u);
  EXPECT_EQ(files_in(dir.path + "/mail/local.test/bob/new"), 0u);
}

}  // namespace
}  // namespace volley::delivery
