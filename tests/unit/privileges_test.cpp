// server.user: resolving the account, handing data_dir over to it without
// following links a user could plant, and dropping root for good.
#include "app/privileges.hpp"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "temp_dir.hpp"

namespace volley::app {
namespace {

namespace fs = std::filesystem;

// chown needs root. A developer running the tests unprivileged skips these;
// CI (CI=true, root) must run them.
#define REQUIRE_ROOT()                                                                        \
  do {                                                                                        \
    if (::geteuid() != 0) {                                                                   \
      if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true")                \
        FAIL() << "CI=true: this test needs root";                                            \
      GTEST_SKIP() << "needs root";                                                           \
    }                                                                                         \
  } while (0)

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("priv") {}
};

RunAs nobody() {
  const passwd* pw = ::getpwnam("nobody");
  return pw ? RunAs{"nobody", pw->pw_uid, pw->pw_gid} : RunAs{"nobody", 65534, 65534};
}

uid_t owner_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_uid;
}

void write_file(const std::string& p) { std::ofstream(p) << "x"; }

TEST(Privileges, NoUserConfiguredMeansNothingToDo) {
  auto r = resolve_run_as("");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().has_value());
}

TEST(Privileges, UnknownUserIsRefusedWithTheKeyAndAHint) {
  auto r = resolve_run_as("volley-no-such-user");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::Invalid);
  EXPECT_NE(r.error().message.find("server.user: no such user \"volley-no-such-user\""), std::string::npos);
  EXPECT_NE(r.error().message.find("useradd --system"), std::string::npos);
}

TEST(Privileges, RootIsNotAnUnprivilegedUser) {
  auto r = resolve_run_as("root");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("uid 0"), std::string::npos) << r.error().message;
}

TEST(Privileges, RootSwitchesToTheConfiguredUser) {
  REQUIRE_ROOT();
  auto r = resolve_run_as("nobody");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r.value().has_value());
  EXPECT_EQ(r.value()->uid, nobody().uid);
  EXPECT_EQ(r.value()->gid, nobody().gid);
}

TEST(Privileges, HandOverGivesTheTreeButNeverWhatLinksPointTo) {
  REQUIRE_ROOT();
  TempDir root;
  const std::string data = root.path + "/data", outside = root.path + "/outside",
                    shared = root.path + "/shared";
  fs::create_directories(data + "/mail/local.test/alice/new");
  write_file(data + "/users.db");
  write_file(data + "/mail/local.test/alice/new/1.msg");
  write_file(outside);
  write_file(shared);
  fs::create_symlink(outside, data + "/link-to-outside");
  fs::create_directory_symlink(root.path, data + "/link-to-parent");
  ASSERT_EQ(::link(shared.c_str(), (data + "/hard-link").c_str()), 0);

  const RunAs to = nobody();
  auto given = hand_over_data_dir(data, to, false);
  ASSERT_TRUE(given.ok()) << given.error().message;
  // data, mail, local.test, alice, new, users.db, 1.msg, the two links themselves
  EXPECT_EQ(given.value(), 9u);
  for (const char* p : {"", "/mail", "/mail/local.test/alice/new", "/users.db", "/mail/local.test/alice/new/1.msg",
                        "/link-to-outside", "/link-to-parent"})
    EXPECT_EQ(owner_of(data + p), to.uid) << p;
  EXPECT_EQ(owner_of(outside), 0u) << "a symbolic link is never followed";
  EXPECT_EQ(owner_of(root.path), 0u) << "a link to a directory is never entered";
  EXPECT_EQ(owner_of(shared), 0u) << "a file with another name elsewhere is never given away";

  auto again = hand_over_data_dir(data, to, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), 0u) << "what the user owns already is left alone";
}

TEST(Privileges, HandOverCreatesDataDirOnlyWhenAsked) {
  REQUIRE_ROOT();
  TempDir root;
  const std::string data = root.path + "/data";
  auto left = hand_over_data_dir(data, nobody(), false);
  ASSERT_TRUE(left.ok()) << left.error().message;
  EXPECT_FALSE(fs::exists(data));
  auto made = hand_over_data_dir(data, nobody(), true);
  ASSERT_TRUE(made.ok()) << made.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody().uid);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST(Privileges, DropIsFinal) {
  REQUIRE_ROOT();
  // In a child: the drop cannot be undone, which is the point.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const RunAs to = nobody();
    auto dropped = drop_privileges(to);
    bool ok = dropped.ok() && ::getuid() == to.uid && ::geteuid() == to.uid && ::getegid() == to.gid &&
              ::setuid(0) != 0 && ::getgroups(0, nullptr) >= 0;
    gid_t groups[64];
    int n = ::getgroups(64, groups);
    for (int i = 0; i < n; ++i) ok = ok && groups[i] != 0;  // root's groups are gone too
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace volley::app
