// The file-system seam: the POSIX implementation maps errno to ErrorCode, and
// FaultyFileSystem fails exactly the operation a test names.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>

#include "util/clock.hpp"
#include "util/file_system.hpp"

namespace volley {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/volley-fs-XXXXXX";
  return mkdtemp(tmpl);
}

TEST(FileSystem, WriteSyncRenameReadBack) {
  auto dir = temp_dir();
  FileSystem& fs = posix_file_system();
  auto fd = fs.open(dir + "/a", O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  ASSERT_TRUE(fs.write_all(*fd, "hello").ok());
  ASSERT_TRUE(fs.fsync(*fd).ok());
  ASSERT_TRUE(fs.close(*fd).ok());
  ASSERT_TRUE(fs.rename(dir + "/a", dir + "/b").ok());
  ASSERT_TRUE(fs.fsync_dir(dir).ok());
  auto rd = fs.open(dir + "/b", O_RDONLY, 0);
  ASSERT_TRUE(rd.ok());
  auto text = fs.pread_exact(*rd, 5, 0);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "hello");
  auto past = fs.pread_exact(*rd, 6, 0);
  EXPECT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, ErrorCode::Io);
  ASSERT_TRUE(fs.close(*rd).ok());
  std::filesystem::remove_all(dir);
}

TEST(FileSystem, ErrnoMapsToCodes) {
  EXPECT_EQ(errno_error("x", ENOSPC).code, ErrorCode::NoSpace);
  EXPECT_EQ(errno_error("x", EDQUOT).code, ErrorCode::NoSpace);
  EXPECT_EQ(errno_error("x", ENOENT).code, ErrorCode::NotFound);
  EXPECT_EQ(errno_error("x", EEXIST).code, ErrorCode::AlreadyExists);
  EXPECT_EQ(errno_error("x", EIO).code, ErrorCode::Io);
  auto missing = posix_file_system().open("/nonexistent-volley/x", O_RDONLY, 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
  EXPECT_FALSE(Error(ErrorCode::NotFound, "x").temporary());
  EXPECT_TRUE(Error(ErrorCode::Io, "x").temporary());
  EXPECT_TRUE(Error("unspecified").temporary());
}

TEST(FaultyFileSystem, FailsTheNthOperationOnly) {
  auto dir = temp_dir();
  FaultyFileSystem fs;
  fs.fail_at(2, ENOSPC);
  auto fd = fs.open(dir + "/a", O_WRONLY | O_CREAT, 0600);  // op 1
  ASSERT_TRUE(fd.ok());
  auto w = fs.write_all(*fd, "x");                          // op 2: fails
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ErrorCode::NoSpace);
  EXPECT_TRUE(fs.write_all(*fd, "y").ok());                 // op 3: fine again
  EXPECT_EQ(fs.log(), (std::vector<std::string>{"open", "write", "write"}));
  ASSERT_TRUE(fs.close(*fd).ok());
  fs.fail_at(1, EIO, /*sticky=*/true);
  EXPECT_FALSE(fs.fsync_dir(dir).ok());
  EXPECT_FALSE(fs.rename(dir + "/a", dir + "/b").ok());
  std::filesystem::remove_all(dir);
}

TEST(FakeClock, MovesOnlyWhenAdvanced) {
  FakeClock clock(1000);
  auto t0 = clock.steady_now();
  EXPECT_EQ(clock.unix_ms(), 1000);
  clock.advance(std::chrono::seconds(2));
  EXPECT_EQ(clock.unix_ms(), 3000);
  EXPECT_EQ(clock.steady_now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace volley
