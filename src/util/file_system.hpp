// The file-system seam (LevelDB's Env idea): the durable stores (the queue
// spool, Maildir delivery) do every write, sync, rename and unlink through a
// FileSystem, so unit tests can fail the Nth operation (FaultyFileSystem) and
// check that a failed batch rolls back and a failed delivery leaves nothing.
//
// Every call returns a checked result; errno is carried in Error::code
// (ENOSPC/EDQUOT -> NoSpace, ENOENT -> NotFound, EEXIST -> AlreadyExists,
// anything else -> Io) and in the message. Calls are thread-safe as the
// system calls they wrap are.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace volley {

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // open(2); the descriptor is the caller's to close().
  virtual Result<int> open(const std::string& path, int flags, mode_t mode = 0600) = 0;
  virtual Result<void> close(int fd) = 0;
  // Writes all of `data` at the current offset (retrying short writes/EINTR).
  virtual Result<void> write_all(int fd, std::string_view data) = 0;
  // Writes all of iov[0..count) at `offset` (pwritev, retrying short writes).
  virtual Result<void> pwritev_all(int fd, const struct iovec* iov, int count, uint64_t offset) = 0;
  // Reads exactly `length` bytes at `offset` into `out`; Io if the file ends first.
  virtual Result<void> pread_into(int fd, char* out, size_t length, uint64_t offset) = 0;
  // The same into a new string.
  Result<std::string> pread_exact(int fd, size_t length, uint64_t offset) {
    std::string out(length, '\0');
    if (auto r = pread_into(fd, out.data(), length, offset); !r) return r.error();
    return out;
  }
  virtual Result<void> fsync(int fd) = 0;
  virtual Result<void> fdatasync(int fd) = 0;
  virtual Result<void> ftruncate(int fd, uint64_t length) = 0;
  virtual Result<void> rename(const std::string& from, const std::string& to) = 0;
  virtual Result<void> unlink(const std::string& path) = 0;
  // mkdir(2); an existing directory is success.
  virtual Result<void> mkdir(const std::string& path, mode_t mode = 0700) = 0;
  // fsync of a directory, so created, renamed or removed entries survive a crash.
  virtual Result<void> fsync_dir(const std::string& path) = 0;
};

// The real one (POSIX system calls).
FileSystem& posix_file_system();

// Error for a failed system call: code from errno, message "what: strerror".
Error errno_error(const std::string& what, int err);

// Wraps another FileSystem and fails chosen operations, for tests: the Nth
// (1-based, counted over all mutating calls: write_all, pwritev_all, fsync,
// fdatasync, ftruncate, rename, unlink, mkdir, fsync_dir, open for writing)
// call fails with `err`, and every one after it too when `sticky`.
class FaultyFileSystem final : public FileSystem {
 public:
  explicit FaultyFileSystem(FileSystem& base = posix_file_system()) : base_(base) {}

  // Fail the nth mutating operation from now on (0 = never).
  void fail_at(uint64_t nth, int err = 5 /* EIO */, bool sticky = false) {
    fail_at_ = nth == 0 ? 0 : ops_ + nth;
    err_ = err;
    sticky_ = sticky;
  }
  uint64_t operations() const { return ops_; }
  // Names of the operations seen, in order ("write", "fsync", "rename", ...).
  const std::vector<std::string>& log() const { return log_; }

  Result<int> open(const std::string& path, int flags, mode_t mode) override;
  Result<void> close(int fd) override { return base_.close(fd); }
  Result<void> write_all(int fd, std::string_view data) override;
  Result<void> pwritev_all(int fd, const struct iovec* iov, int count, uint64_t offset) override;
  Result<void> pread_into(int fd, char* out, size_t length, uint64_t offset) override {
    return base_.pread_into(fd, out, length, offset);
  }
  Result<void> fsync(int fd) override;
  Result<void> fdatasync(int fd) override;
  Result<void> ftruncate(int fd, uint64_t length) override;
  Result<void> rename(const std::string& from, const std::string& to) override;
  Result<void> unlink(const std::string& path) override;
  Result<void> mkdir(const std::string& path, mode_t mode) override;
  Result<void> fsync_dir(const std::string& path) override;

 private:
  // Counts one mutating operation; true when it must fail.
  bool should_fail(const char* name);

  FileSystem& base_;
  uint64_t ops_ = 0;
  uint64_t fail_at_ = 0;
  int err_ = 5;
  bool sticky_ = false;
  std::vector<std::string> log_;
};

}  // namespace volley
