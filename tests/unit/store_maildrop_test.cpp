// The POP3 maildrop over the Maildir store: Dovecot's UIDLs and sizes, the
// session lock ([IN-USE]), new/ -> cur/ on open, DELE/RETR applied at commit.
#include "pop3/store_maildrop.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "mailbox/maildir.hpp"
#include "temp_dir.hpp"

namespace volley::pop3 {
namespace {

namespace fs = std::filesystem;

struct Root : test::TempDir {
  Root() : test::TempDir("maildrop") { box = path + "/example.test/alice"; }
  std::string box;
  void put(const std::string& sub, const std::string& name, const std::string& body) {
    fs::create_directories(box + "/" + sub);
    std::ofstream(box + "/" + sub + "/" + name, std::ios::binary) << body;
  }
  std::vector<std::string> names(const std::string& sub) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(box + "/" + sub)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string read_message(Maildrop& drop, size_t index) {
  auto r = drop.open_message(index);
  EXPECT_TRUE(r);
  if (!r) return {};
  std::string all, part;
  while ((*r)->read(part, 1000) && !part.empty()) all += part;
  return all;
}

TEST(StoreMaildrop, MissingMailboxIsEmpty) {
  Root root;
  auto opener = make_store_maildrop_opener(root.path, "testhost");
  auto drop = opener->open("Alice@Example.test");
  ASSERT_TRUE(drop) << drop.error().message;
  EXPECT_TRUE((*drop)->entries().empty());
  EXPECT_TRUE(fs::is_directory(root.box + "/cur"));
}

TEST(StoreMaildrop, ListsRetrievesAndCommits) {
  Root root;
  root.put("cur", "1700000000.M1P2.host,S=25,W=27:2,", "x");  // placeholder body: sizes come from the name
  root.put("", "dovecot-uidlist",
           "3 V1700000123 N3 G0123456789abcdef0123456789abcdef\n2 :1700000000.M1P2.host,S=25,W=27\n");
  ASSERT_TRUE(mailbox::deliver(root.box, "", "Subject: a\n\nbody\n", "testhost"));
  root.put("new", "zz-dropped", "hi\n");

  // Usage as a recount before the session would write it: 25 + 17 + 3.
  root.put("", "maildirsize", "0S\n45 3\n");
  mailbox::MailboxQuota quota(root.path, [](const std::string&) -> Result<uint64_t> { return 0; });
  auto opener = make_store_maildrop_opener(root.path, "testhost", &quota);
  {
    auto drop = opener->open("alice@example.test");
    ASSERT_TRUE(drop) << drop.error().message;
    const auto& e = (*drop)->entries();
    ASSERT_EQ(e.size(), 3u);
    EXPECT_EQ((*drop)->uidl(0), "000000026553f17b");  // 1700000123 = 0x6553f17b
    EXPECT_EQ(e[0].size, 27u);
    EXPECT_EQ((*drop)->uidl(1), "000000036553f17b");
    EXPECT_EQ(e[1].size, 20u);  // "Subject: a\n\nbody\n" with CRLF
    EXPECT_EQ((*drop)->uidl(2), "000000046553f17b");
    EXPECT_EQ(e[2].size, 4u);
    EXPECT_EQ(read_message(**drop, 2), "hi\r\n");
    // new/ was emptied into cur/ without flags.
    EXPECT_TRUE(root.names("new").empty());

    // A second session is refused while this one holds the lock.
    auto second = opener->open("alice@example.test");
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, ErrorCode::Busy);

    ASSERT_TRUE((*drop)->commit({1}, {2, 1}));
  }
  // The deleted message's size and count came off the usage, as a delta.
  std::ifstream size_file(root.box + "/maildirsize", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(size_file), {}), "0S\n45 3\n-17 -1\n");
  auto cur = root.names("cur");
  ASSERT_EQ(cur.size(), 2u);
  EXPECT_EQ(cur[0], "1700000000.M1P2.host,S=25,W=27:2,");
  EXPECT_EQ(cur[1], "zz-dropped:2,S");
  EXPECT_FALSE(fs::exists(root.box + "/dovecot-pop3-session.lock"));

  // The next session sees the same UIDLs for what is left.
  auto again = opener->open("alice@example.test");
  ASSERT_TRUE(again);
  ASSERT_EQ((*again)->entries().size(), 2u);
  EXPECT_EQ((*again)->uidl(1), "000000046553f17b");
}

// A mailbox exactly as Dovecot 2.3 left it after its first POP3 session
// (one Volley-delivered file, one dropped by hand with bare LFs); Dovecot
// answered UIDL 000000016b16a896 / 000000026b16a896 and LIST 20 / 27.
TEST(StoreMaildrop, ServesADovecotWrittenMailboxWithDovecotsUidlsAndSizes) {
  Root root;
  root.put("cur", "1700000000.M1P2Q0.volleyhost,S=20,W=20:2,", "Subject: a\r\n\r\nbody\r\n");
  root.put("cur", "1700000001.hand:2,", "Subject: b\n\nline\nline2\n");
  const std::string uidlist =
      "3 V1796647062 N3 Gcfc03e2096a8166b512c000083ecc375\n"
      "1 :1700000000.M1P2Q0.volleyhost,S=20,W=20\n"
      "2 W27 :1700000001.hand\n";
  root.put("", "dovecot-uidlist", uidlist);
  auto drop = make_store_maildrop_opener(root.path, "testhost")->open("alice@example.test");
  ASSERT_TRUE(drop) << drop.error().message;
  const auto& e = (*drop)->entries();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ((*drop)->uidl(0), "000000016b16a896");
  EXPECT_EQ(e[0].size, 20u);
  EXPECT_EQ((*drop)->uidl(1), "000000026b16a896");
  EXPECT_EQ(e[1].size, 27u);
  EXPECT_EQ(read_message(**drop, 1), "Subject: b\r\n\r\nline\r\nline2\r\n");
  // Nothing to change: Dovecot's file is left byte for byte.
  std::ifstream in(root.box + "/dovecot-uidlist");
  std::string now((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(now, uidlist);
}

TEST(StoreMaildrop, DovecotsSessionLockMeansInUse) {
  Root root;
  fs::create_directories(root.box);
  // A live process on this host (our parent) holds it, as a Dovecot pop3 process would.
  std::ofstream(root.box + "/dovecot-pop3-session.lock") << ::getppid() << ":" << "testhost";
  auto opener = make_store_maildrop_opener(root.path, "testhost");
  auto drop = opener->open("alice@example.test");
  ASSERT_FALSE(drop);
  EXPECT_EQ(drop.error().code, ErrorCode::Busy);
}

TEST(StoreMaildrop, RefusesUnsafeUsers) {
  Root root;
  auto opener = make_store_maildrop_opener(root.path, "testhost");
  EXPECT_FALSE(opener->open("../x@example.test"));
  EXPECT_FALSE(opener->open("nodomain"));
}

}  // namespace
}  // namespace volley::pop3
