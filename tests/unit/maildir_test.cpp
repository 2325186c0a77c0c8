// Maildir delivery: address -> path mapping refuses anything that could
// escape the mail root, the delivered file holds exactly prefix + content in
// new/ (nothing in tmp/), names are Dovecot-style and distinct across
// threads, and a failure leaves nothing behind.
#include "mailbox/maildir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "temp_dir.hpp"

namespace volley::mailbox {
namespace {

namespace fs = std::filesystem;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("maildir") {}
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t count_entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

struct PathCase {
  std::string address;
  const char* want;  // nullptr = refused
};

TEST(Maildir, PathMapping) {
  const PathCase cases[] = {
      {"alice@local.test", "/data/mail/local.test/alice"},
      {"Alice.Smith@Local.TEST", "/data/mail/local.test/alice.smith"},
      {"a+tag@local.test", "/data/mail/local.test/a+tag"},
      {"\"a@b\"@local.test", "/data/mail/local.test/\"a@b\""},  // split at the last '@'
      {"\"a b\"@local.test", "/data/mail/local.test/\"a b\""},
      {"m\xc3\xbc@local.test", "/data/mail/local.test/m\xc3\xbc"},  // UTF-8 kept, ASCII lowercased
      {"x@[192.0.2.1]", "/data/mail/[192.0.2.1]/x"},
      {std::string(255, 'a') + "@local.test", nullptr},  // placeholder replaced below
      {"alice", nullptr},
      {"@local.test", nullptr},
      {"alice@", nullptr},
      {"..@local.test", nullptr},
      {".@local.test", nullptr},
      {".hidden@local.test", nullptr},
      {"alice@..", nullptr},
      {"alice@.", nullptr},
      {"alice@.local.test", nullptr},
      {"a/b@local.test", nullptr},
      {"../../etc@local.test", nullptr},
      {"alice@local.test/../x", nullptr},
      {std::string("a\0b@local.test", 14), nullptr},
      {"a\nb@local.test", nullptr},
      {"a\x7f@local.test", nullptr},
      {"alice@local\ttest", nullptr},
      {std::string(256, 'a') + "@local.test", nullptr},
      {"alice@" + std::string(256, 'd'), nullptr},
  };
  for (const auto& c : cases) {
    auto got = maildir_for("/data/mail", c.address);
    if (c.address == std::string(255, 'a') + "@local.test") {
      ASSERT_TRUE(got.ok());  // exactly NAME_MAX is fine
      EXPECT_EQ(*got, "/data/mail/local.test/" + std::string(255, 'a'));
      continue;
    }
    if (c.want == nullptr) {
      EXPECT_FALSE(got.ok()) << c.address << " -> " << (got.ok() ? *got : "");
    } else {
      ASSERT_TRUE(got.ok()) << c.address << ": " << got.error().message;
      EXPECT_EQ(*got, c.want);
    }
  }
  // A trailing slash on the root does not double up.
  auto got = maildir_for("/data/mail/", "bob@x.test");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "/data/mail/x.test/bob");
}

TEST(Maildir, DeliveryHeaders) {
  EXPECT_EQ(delivery_headers("alice@example.org", "bob@local.test"),
            "Return-Path: <alice@example.org>\r\nDelivered-To: bob@local.test\r\n");
  EXPECT_EQ(delivery_headers("", "bob@local.test"), "Return-Path: <>\r\nDelivered-To: bob@local.test\r\n");
  EXPECT_EQ(delivery_headers("a\r\nX-Evil: 1", "b\nc"), "Return-Path: <a??X-Evil: 1>\r\nDelivered-To: b?c\r\n");
}

TEST(Maildir, UniqueNameFormat) {
  EXPECT_EQ(unique_name(1700000000, 123456, 4242, 7, "mx.local.test", 1234),
            "1700000000.M123456P4242Q7.mx.local.test,S=1234,W=1234");
  EXPECT_EQ(unique_name(1, 2, 3, 4, "a/b:c", 5), "1.M2P3Q4.a\\057b\\072c,S=5,W=5");
}

TEST(Maildir, DeliverCreatesMaildirAndWritesExactBytes) {
  TempDir root;
  auto dir = maildir_for(root.path + "/mail", "Bob@Local.Test");
  ASSERT_TRUE(dir.ok());
  const std::string prefix = delivery_headers("alice@example.org", "bob@local.test");
  const std::string content = std::string("Received: from x\r\nSubject: hi\r\n\r\nbody\0\xff\r\n", 41);
  auto got = deliver(*dir, prefix, content, "mx.local.test");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->size, prefix.size() + content.size());
  EXPECT_EQ(slurp(got->path), prefix + content);
  // In new/, named like Dovecot does, and nothing left in tmp/.
  const fs::path p(got->path);
  EXPECT_EQ(p.parent_path().string(), *dir + "/new");
  const std::string size = std::to_string(prefix.size() + content.size());
  EXPECT_TRUE(std::regex_match(p.filename().string(),
                               std::regex("[0-9]+\\.M[0-9]+P[0-9]+Q[0-9]+\\.mx\\.local\\.test,S=" + size + ",W=" + size)))
      << p.filename();
  EXPECT_EQ(count_entries(*dir + "/tmp"), 0u);
  EXPECT_EQ(count_entries(*dir + "/new"), 1u);
  EXPECT_EQ(count_entries(*dir + "/cur"), 0u);
  // Created directories are private.
  for (const std::string& d : {root.path + "/mail", root.path + "/mail/local.test", *dir, *dir + "/tmp", *dir + "/new", *dir + "/cur"}) {
    struct stat st {};
    ASSERT_EQ(::stat(d.c_str(), &st), 0) << d;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << d;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << d;
  }
  // A second delivery reuses the directories and gets another name.
  auto again = deliver(*dir, prefix, content, "mx.local.test");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->path, got->path);
  EXPECT_EQ(count_entries(*dir + "/new"), 2u);
}

TEST(Maildir, EmptyMessage) {
  TempDir root;
  auto got = deliver(root.path + "/m", "", "", "h");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->size, 0u);
  EXPECT_EQ(slurp(got->path), "");
}

TEST(Maildir, ConcurrentDeliveriesAreDistinct) {
  TempDir root;
  const std::string dir = root.path + "/local.test/bob";
  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::vector<std::vector<std::string>> paths(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string content = "Subject: " + std::to_string(t) + "/" + std::to_string(i) + "\r\n\r\nx\r\n";
        auto got = deliver(dir, "", content, "mx.local.test");
        if (got.ok()) paths[t].push_back(got->path);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(paths[t].size(), static_cast<size_t>(kEach));
    for (int i = 0; i < kEach; ++i) {
      EXPECT_TRUE(all.insert(paths[t][i]).second);
      // Each file holds the message that thread wrote (no overwrites).
      EXPECT_EQ(slurp(paths[t][i]), "Subject: " + std::to_string(t) + "/" + std::to_string(i) + "\r\n\r\nx\r\n");
    }
  }
  EXPECT_EQ(count_entries(dir + "/new"), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(count_entries(dir + "/tmp"), 0u);
}

TEST(Maildir, FileInPlaceOfDirectoryFailsWithoutLeftovers) {
  // Permissions do not stop root, so block the path with a file instead.
  TempDir root;
  {
    std::ofstream(root.path + "/blocked") << "not a directory";
  }
  auto got = deliver(root.path + "/blocked/bob", "", "Subject: x\r\n\r\n", "h");
  ASSERT_FALSE(got.ok());
  EXPECT_FALSE(got.error().message.empty());

  // The maildir exists but new/ is a file: the write happens, the rename
  // fails, and the temporary file is removed.
  const std::string dir = root.path + "/bob";
  fs::create_directories(dir + "/tmp");
  fs::create_directories(dir + "/cur");
  { std::ofstream(dir + "/new") << "not a directory"; }
  got = deliver(dir, "Return-Path: <>\r\n", "Subject: x\r\n\r\n", "h");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("new"), std::string::npos) << got.error().message;
  EXPECT_EQ(count_entries(dir + "/tmp"), 0u);

  // tmp/ is a file: cannot even create the temporary file.
  const std::string dir2 = root.path + "/carol";
  fs::create_directories(dir2);
  { std::ofstream(dir2 + "/tmp") << "x"; }
  got = deliver(dir2, "", "Subject: x\r\n\r\n", "h");
  ASSERT_FALSE(got.ok());
}

TEST(Maildir, ReadOnlyDirectoryFailsWithoutLeftovers) {
  if (::geteuid() == 0) GTEST_SKIP() << "permissions do not apply to root";
  TempDir root;
  const std::string dir = root.path + "/bob";
  ASSERT_TRUE(deliver(dir, "", "x\r\n", "h").ok());
  ASSERT_EQ(::chmod((dir + "/tmp").c_str(), 0500), 0);
  auto got = deliver(dir, "", "x\r\n", "h");
  EXPECT_FALSE(got.ok());
  EXPECT_EQ(count_entries(dir + "/tmp"), 0u);
  EXPECT_EQ(count_entries(dir + "/new"), 1u);
  ::chmod((dir + "/tmp").c_str(), 0700);
}

}  // namespace
}  // namespace volley::mailbox
