// Mailbox sync and operations on real directories: UIDs given once and never
// reused, records of vanished files forgotten, files moved by someone else
// followed, concurrent syncs serialized, dotlock staleness, LF -> CRLF reads.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "mailbox/dotlock.hpp"
#include "mailbox/maildir.hpp"
#include "mailbox/maildir_mailbox.hpp"
#include "mailbox/uidlist.hpp"
#include "temp_dir.hpp"

namespace volley::mailbox {
namespace {

namespace fs = std::filesystem;

struct Box : test::TempDir {
  Box() : test::TempDir("mailbox") { maildir = path + "/user"; }
  std::string maildir;
  void put(const std::string& sub, const std::string& name, const std::string& body) {
    fs::create_directories(maildir + "/" + sub);
    std::ofstream(maildir + "/" + sub + "/" + name, std::ios::binary) << body;
  }
  std::string read(const std::string& rel) const {
    std::ifstream in(maildir + "/" + rel, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

std::string read_all(CrlfMessageReader& r, size_t chunk) {
  std::string all, part;
  for (;;) {
    EXPECT_TRUE(r.read(part, chunk));
    if (part.empty()) return all;
    EXPECT_LE(part.size(), chunk);
    all += part;
  }
}

TEST(MailboxSync, GivesUidsOnceAndPersists) {
  Box b;
  MaildirMailbox box(b.maildir);
  ASSERT_TRUE(box.create());
  b.put("new", "1000.M1P1.h,S=3,W=4", "a\nb");
  b.put("cur", "999.M1P1.h,S=5:2,S", "hello");
  auto v1 = box.sync();
  ASSERT_TRUE(v1) << v1.error().message;
  ASSERT_EQ(v1->messages.size(), 2u);
  EXPECT_EQ(v1->messages[0].base, "999.M1P1.h,S=5");  // delivery time: 999 s before 1000 s
  EXPECT_EQ(v1->messages[0].uid, 1u);
  EXPECT_EQ(v1->messages[0].flags, "S");
  EXPECT_EQ(v1->messages[1].uid, 2u);
  EXPECT_TRUE(v1->messages[1].in_new);
  EXPECT_EQ(v1->next_uid, 3u);
  EXPECT_NE(v1->uidvalidity, 0u);
  EXPECT_FALSE(fs::exists(b.maildir + "/dovecot-uidlist.lock"));

  auto text = b.read("dovecot-uidlist");
  auto parsed = parse_uidlist(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->uidvalidity, v1->uidvalidity);
  EXPECT_EQ(parsed->guid.size(), 32u);

  // A second sync changes nothing; the UIDVALIDITY stays.
  auto v2 = box.sync();
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->uidvalidity, v1->uidvalidity);
  EXPECT_EQ(b.read("dovecot-uidlist"), text);

  // One removed, one added: the new one gets UID 3, UID 1 is never reused.
  fs::remove(b.maildir + "/cur/999.M1P1.h,S=5:2,S");
  b.put("new", "1001.M1P1.h", "x");
  auto v3 = box.sync();
  ASSERT_TRUE(v3);
  ASSERT_EQ(v3->messages.size(), 2u);
  EXPECT_EQ(v3->messages[0].uid, 2u);
  EXPECT_EQ(v3->messages[1].uid, 3u);
  EXPECT_EQ(v3->messages[1].base, "1001.M1P1.h");
  EXPECT_EQ(v3->next_uid, 4u);
}

TEST(MailboxSync, EmptyMailboxGetsAUidlist) {
  Box b;
  MaildirMailbox box(b.maildir);
  ASSERT_TRUE(box.create());
  auto v = box.sync();
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->messages.empty());
  EXPECT_EQ(b.read("dovecot-uidlist").substr(0, 3), "3 V");
}

TEST(MailboxSync, KeepsDovecotsUidsAndComputesMissingVsize) {
  Box b;
  b.put("cur", "1700000000.M1P2.host,S=25,W=27:2,", "x");
  b.put("cur", "hand-dropped:2,S", "line1\nline2\n");
  b.put("", "dovecot-uidlist",
        "3 V1700000123 N8 G0123456789abcdef0123456789abcdef\n5 :1700000000.M1P2.host,S=25,W=27\n7 :hand-dropped\n");
  MaildirMailbox box(b.maildir);
  SyncOptions opts;
  opts.want_vsize = true;
  auto v = box.sync(opts);
  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(v->messages.size(), 2u);
  EXPECT_EQ(v->uidvalidity, 1700000123u);
  EXPECT_EQ(v->messages[0].uid, 5u);
  EXPECT_EQ(v->messages[0].vsize, 27u);  // from W=, not computed
  EXPECT_EQ(v->messages[1].uid, 7u);
  EXPECT_EQ(v->messages[1].vsize, 14u);
  EXPECT_EQ(b.read("dovecot-uidlist"),
            "3 V1700000123 N8 G0123456789abcdef0123456789abcdef\n5 :1700000000.M1P2.host,S=25,W=27\n7 W14 :hand-dropped\n");
}

TEST(MailboxSync, RefusesACorruptUidlist) {
  Box b;
  b.put("cur", "a", "x");
  b.put("", "dovecot-uidlist", "garbage\n");
  MaildirMailbox box(b.maildir);
  auto v = box.sync();
  EXPECT_FALSE(v);
  EXPECT_EQ(b.read("dovecot-uidlist"), "garbage\n");
}

TEST(MailboxSync, ConcurrentSyncsGiveEachFileOneUid) {
  Box b;
  MaildirMailbox setup(b.maildir);
  ASSERT_TRUE(setup.create());
  constexpr int kThreads = 4, kFiles = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      MaildirMailbox box(b.maildir);
      for (int i = 0; i < kFiles; ++i) {
        auto d = deliver(b.maildir, "", "body\n", "host" + std::to_string(t));
        ASSERT_TRUE(d);
        ASSERT_TRUE(box.sync());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto v = setup.sync();
  ASSERT_TRUE(v);
  ASSERT_EQ(v->messages.size(), static_cast<size_t>(kThreads * kFiles));
  std::set<uint32_t> uids;
  for (const auto& m : v->messages) uids.insert(m.uid);
  EXPECT_EQ(uids.size(), v->messages.size());
  EXPECT_EQ(*uids.rbegin(), static_cast<uint32_t>(kThreads * kFiles));
}

TEST(MailboxOps, FlagsFollowRenamesByOthers) {
  Box b;
  b.put("new", "1.M1.h,S=5", "hello");
  MaildirMailbox box(b.maildir);
  ASSERT_TRUE(box.create());
  auto v = box.sync();
  ASSERT_TRUE(v);
  MessageFile m = v->messages.at(0);
  // Another process moved it to cur/ with a flag meanwhile.
  fs::rename(b.maildir + "/new/1.M1.h,S=5", b.maildir + "/cur/1.M1.h,S=5:2,F");
  ASSERT_TRUE(box.change_flags(m, "S"));
  EXPECT_TRUE(fs::exists(b.maildir + "/cur/1.M1.h,S=5:2,FS"));
  EXPECT_EQ(m.flags, "FS");
  ASSERT_TRUE(box.change_flags(m, "", "F"));
  EXPECT_TRUE(fs::exists(b.maildir + "/cur/1.M1.h,S=5:2,S"));
  // Still the same UID after the renames.
  auto again = box.sync();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->messages.at(0).uid, m.uid);

  auto r = open_message(box, m);
  ASSERT_TRUE(r);
  EXPECT_EQ(read_all(**r, 4), "hello");

  auto gone = box.expunge(m);
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->removed);
  EXPECT_EQ(gone->bytes, 5u);
  auto twice = box.expunge(m);
  ASSERT_TRUE(twice);
  EXPECT_FALSE(twice->removed);
  EXPECT_EQ(box.change_flags(m, "F").error().code, ErrorCode::NotFound);
}

TEST(MailboxOps, MoveToCurKeepsNoFlags) {
  Box b;
  b.put("new", "2.M1.h", "x");
  MaildirMailbox box(b.maildir);
  ASSERT_TRUE(box.create());
  auto v = box.sync();
  ASSERT_TRUE(v);
  ASSERT_TRUE(box.move_to_cur(v->messages.at(0)));
  EXPECT_TRUE(fs::exists(b.maildir + "/cur/2.M1.h:2,"));
  EXPECT_FALSE(v->messages[0].in_new);
}

TEST(MailboxOps, ReaderTurnsBareLfIntoCrlf) {
  Box b;
  std::string body = "a\nb\r\nc\n\n";
  for (int i = 0; i < 1000; ++i) body += "line\n";
  b.put("cur", "3.M1.h:2,", body);
  MaildirMailbox box(b.maildir);
  SyncOptions opts;
  opts.want_vsize = true;
  auto v = box.sync(opts);
  ASSERT_TRUE(v);
  for (size_t chunk : {2u, 3u, 7u, 4096u}) {
    auto r = open_message(box, v->messages.at(0));
    ASSERT_TRUE(r);
    std::string out = read_all(**r, chunk);
    EXPECT_EQ(out.size(), *v->messages[0].vsize);
    EXPECT_EQ(out.substr(0, 12), "a\r\nb\r\nc\r\n\r\nl");
    EXPECT_EQ(out.find("\n\n"), std::string::npos);
  }
}

TEST(Dotlock, ExclusiveAndReleased) {
  Box b;
  fs::create_directories(b.maildir);
  const std::string path = b.maildir + "/x.lock";
  auto first = Dotlock::acquire(posix_file_system(), path, {});
  ASSERT_TRUE(first);
  std::string content = b.read("x.lock");
  EXPECT_EQ(content, std::to_string(::getpid()) + ":" + local_hostname());
  auto second = Dotlock::acquire(posix_file_system(), path, {});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::Busy);
  first->reset();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(Dotlock::acquire(posix_file_system(), path, {}));
}

void age(const std::string& path, int seconds) {
  const auto t = fs::last_write_time(path) - std::chrono::seconds(seconds);
  fs::last_write_time(path, t);
}

TEST(Dotlock, StaleRules) {
  Box b;
  fs::create_directories(b.maildir);
  const std::string path = b.maildir + "/s.lock";
  const std::string host = local_hostname();
  DotlockOptions opts;
  opts.stale_after = std::chrono::seconds(300);

  // A dead pid on this host: stale once older than 2 s.
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  ::waitpid(dead, nullptr, 0);
  b.put("", "s.lock", std::to_string(dead) + ":" + host);
  EXPECT_FALSE(Dotlock::acquire(posix_file_system(), path, opts));  // too fresh to judge
  age(path, 10);
  EXPECT_TRUE(Dotlock::acquire(posix_file_system(), path, opts));

  // A live pid (our parent) on this host: held, however old (below the stale time).
  b.put("", "s.lock", std::to_string(::getppid()) + ":" + host);
  age(path, 100);
  EXPECT_FALSE(Dotlock::acquire(posix_file_system(), path, opts));
  // Another host's lock: only the age counts.
  b.put("", "s.lock", "1:elsewhere");
  age(path, 100);
  EXPECT_FALSE(Dotlock::acquire(posix_file_system(), path, opts));
  age(path, 400);
  EXPECT_TRUE(Dotlock::acquire(posix_file_system(), path, opts));
  // Our own pid but not held by this process: a leftover (same pid after a restart).
  b.put("", "s.lock", std::to_string(::getpid()) + ":" + host);
  age(path, 10);
  EXPECT_TRUE(Dotlock::acquire(posix_file_system(), path, opts));
}

}  // namespace
}  // namespace volley::mailbox
