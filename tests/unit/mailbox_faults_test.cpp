// Crash safety of the store with the FileSystem fault injection: failing
// any one step of a sync or an expunge leaves either the old or the new
// dovecot-uidlist (never a partial one), no lock behind, no message lost,
// and the next sync gives every message exactly one UID.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "mailbox/maildir_mailbox.hpp"
#include "mailbox/uidlist.hpp"
#include "temp_dir.hpp"

namespace volley::mailbox {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Faulty : test::TempDir {
  Faulty() : test::TempDir("mailbox-faults") {
    maildir = path + "/box";
    for (const char* sub : {"/new", "/cur", "/tmp"}) fs::create_directories(maildir + sub);
  }
  void put(const std::string& rel, const std::string& body) { std::ofstream(maildir + "/" + rel) << body; }
  std::string maildir;
};

TEST(MailboxFaults, FailingAnyStepOfASyncKeepsTheUidlistWhole) {
  for (uint64_t nth = 1;; ++nth) {
    SCOPED_TRACE(nth);
    Faulty t;
    t.put("cur/a:2,S", "a");
    t.put("new/b", "bb");
    {
      MaildirMailbox good(t.maildir);
      ASSERT_TRUE(good.sync());
    }
    const std::string before = slurp(t.maildir + "/dovecot-uidlist");
    t.put("new/c", "ccc");
    fs::remove(t.maildir + "/cur/a:2,S");

    FaultyFileSystem faulty;
    faulty.fail_at(nth);
    MaildirMailbox box(t.maildir, faulty);
    auto synced = box.sync();
    const bool failed = faulty.operations() >= nth && !synced;
    const std::string after = slurp(t.maildir + "/dovecot-uidlist");
    EXPECT_FALSE(fs::exists(t.maildir + "/dovecot-uidlist.lock"));
    ASSERT_TRUE(parse_uidlist(after)) << after;
    if (failed) {
      // Before the rename: untouched. A failed directory fsync after it: the new file.
      EXPECT_TRUE(after == before || parse_uidlist(after)->records.size() == 2) << after;
    }

    MaildirMailbox good(t.maildir);
    auto view = good.sync();
    ASSERT_TRUE(view);
    ASSERT_EQ(view->messages.size(), 2u);
    EXPECT_EQ(view->messages[0].base, "b");
    EXPECT_EQ(view->messages[0].uid, 2u);  // kept its UID
    EXPECT_EQ(view->messages[1].base, "c");
    EXPECT_EQ(view->messages[1].uid, 3u);  // UID 1 (gone) is never reused
    if (faulty.operations() < nth) break;  // every step has been failed once
  }
}

TEST(MailboxFaults, FailedExpungeOrFlagChangeLosesNothing) {
  Faulty t;
  t.put("new/m,S=4", "mmmm");
  FaultyFileSystem faulty;
  MaildirMailbox box(t.maildir, faulty);
  auto view = box.sync();
  ASSERT_TRUE(view);
  MessageFile m = view->messages.at(0);

  faulty.fail_at(1);
  EXPECT_FALSE(box.change_flags(m, "S"));
  EXPECT_TRUE(fs::exists(t.maildir + "/new/m,S=4"));
  faulty.fail_at(1);
  EXPECT_FALSE(box.expunge(m));
  EXPECT_TRUE(fs::exists(t.maildir + "/new/m,S=4"));
  faulty.fail_at(1);
  EXPECT_FALSE(box.sync_dirs());

  auto again = box.sync();
  ASSERT_TRUE(again);
  ASSERT_EQ(again->messages.size(), 1u);
  EXPECT_EQ(again->messages[0].uid, m.uid);
  auto gone = box.expunge(m);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->bytes, 4u);
}

TEST(MailboxFaults, AStaleUidlistLockFromACrashIsTakenOver) {
  Faulty t;
  t.put("new/x", "x");
  // A crashed writer's lock: no pid we can check, untouched for 3 minutes.
  t.put("dovecot-uidlist.lock", "3 V1 N9\n1 :half-writ");
  const auto old = fs::last_write_time(t.maildir + "/dovecot-uidlist.lock") - std::chrono::minutes(3);
  fs::last_write_time(t.maildir + "/dovecot-uidlist.lock", old);
  MaildirMailbox box(t.maildir);
  auto view = box.sync();
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_EQ(view->messages.size(), 1u);
  EXPECT_FALSE(fs::exists(t.maildir + "/dovecot-uidlist.lock"));
}

}  // namespace
}  // namespace volley::mailbox
