#include "util/file_system.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace volley {
namespace {

class PosixFileSystem final : public FileSystem {
 public:
  Result<int> open(const std::string& path, int flags, mode_t mode) override {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return errno_error("cannot open " + path, errno);
    return fd;
  }
  Result<void> close(int fd) override {
    // Linux releases the descriptor even when close reports an error; never retry.
    if (::close(fd) != 0 && errno != EINTR) return errno_error("close failed", errno);
    return {};
  }
  Result<void> write_all(int fd, std::string_view data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return errno_error("write failed", n < 0 ? errno : EIO);
      done += static_cast<size_t>(n);
    }
    return {};
  }
  Result<void> pwritev_all(int fd, const struct iovec* iov, int count, uint64_t offset) override {
    std::vector<struct iovec> rest(iov, iov + count);
    size_t first = 0;
    while (first < rest.size()) {
      int n = static_cast<int>(std::min<size_t>(rest.size() - first, IOV_MAX));
      ssize_t w = ::pwritev(fd, &rest[first], n, static_cast<off_t>(offset));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return errno_error("write failed", w < 0 ? errno : EIO);
      offset += static_cast<uint64_t>(w);
      auto left = static_cast<size_t>(w);
      while (first < rest.size() && left >= rest[first].iov_len) left -= rest[first++].iov_len;
      if (first < rest.size() && left > 0) {
        rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + left;
        rest[first].iov_len -= left;
      }
    }
    return {};
  }
  Result<void> pread_into(int fd, char* out, size_t length, uint64_t offset) override {
    size_t got = 0;
    while (got < length) {
      ssize_t n = ::pread(fd, out + got, length - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("read failed", errno);
      if (n == 0) return make_error(ErrorCode::Io, "read failed: file ends early");
      got += static_cast<size_t>(n);
    }
    return {};
  }
  Result<void> fsync(int fd) override {
    if (::fsync(fd) != 0) return errno_error("fsync failed", errno);
    return {};
  }
  Result<void> fdatasync(int fd) override {
    if (::fdatasync(fd) != 0) return errno_error("fdatasync failed", errno);
    return {};
  }
  Result<void> ftruncate(int fd, uint64_t length) override {
    if (::ftruncate(fd, static_cast<off_t>(length)) != 0) return errno_error("ftruncate failed", errno);
    return {};
  }
  Result<void> rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return errno_error("cannot rename " + from + " to " + to, errno);
    return {};
  }
  Result<void> unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return errno_error("cannot remove " + path, errno);
    return {};
  }
  Result<void> mkdir(const std::string& path, mode_t mode) override {
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return errno_error("cannot create " + path, errno);
    return {};
  }
  Result<void> fsync_dir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_error("cannot open directory " + path, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return errno_error("cannot sync directory " + path, err);
    return {};
  }
};

}  // namespace

FileSystem& posix_file_system() {
  static PosixFileSystem fs;
  return fs;
}

Error errno_error(const std::string& what, int err) {
  ErrorCode code = ErrorCode::Io;
  if (err == ENOSPC || err == EDQUOT) code = ErrorCode::NoSpace;
  else if (err == ENOENT) code = ErrorCode::NotFound;
  else if (err == EEXIST) code = ErrorCode::AlreadyExists;
  return make_error(code, what + ": " + std::strerror(err));
}

bool FaultyFileSystem::should_fail(const char* name) {
  ++ops_;
  log_.emplace_back(name);
  if (fail_at_ == 0) return false;
  return sticky_ ? ops_ >= fail_at_ : ops_ == fail_at_;
}

Result<int> FaultyFileSystem::open(const std::string& path, int flags, mode_t mode) {
  bool writes = (flags & (O_WRONLY | O_RDWR | O_CREAT)) != 0;
  if (writes && should_fail("open")) return errno_error("cannot open " + path + " (injected)", err_);
  return base_.open(path, flags, mode);
}
Result<void> FaultyFileSystem::write_all(int fd, std::string_view data) {
  if (should_fail("write")) return errno_error("write failed (injected)", err_);
  return base_.write_all(fd, data);
}
Result<void> FaultyFileSystem::pwritev_all(int fd, const struct iovec* iov, int count, uint64_t offset) {
  if (should_fail("pwritev")) return errno_error("write failed (injected)", err_);
  return base_.pwritev_all(fd, iov, count, offset);
}
Result<void> FaultyFileSystem::fsync(int fd) {
  if (should_fail("fsync")) return errno_error("fsync failed (injected)", err_);
  return base_.fsync(fd);
}
Result<void> FaultyFileSystem::fdatasync(int fd) {
  if (should_fail("fdatasync")) return errno_error("fdatasync failed (injected)", err_);
  return base_.fdatasync(fd);
}
Result<void> FaultyFileSystem::ftruncate(int fd, uint64_t length) {
  if (should_fail("ftruncate")) return errno_error("ftruncate failed (injected)", err_);
  return base_.ftruncate(fd, length);
}
Result<void> FaultyFileSystem::rename(const std::string& from, const std::string& to) {
  if (should_fail("rename")) return errno_error("cannot rename " + from + " (injected)", err_);
  return base_.rename(from, to);
}
Result<void> FaultyFileSystem::unlink(const std::string& path) {
  if (should_fail("unlink")) return errno_error("cannot remove " + path + " (injected)", err_);
  return base_.unlink(path);
}
Result<void> FaultyFileSystem::mkdir(const std::string& path, mode_t mode) {
  if (should_fail("mkdir")) return errno_error("cannot create " + path + " (injected)", err_);
  return base_.mkdir(path, mode);
}
Result<void> FaultyFileSystem::fsync_dir(const std::string& path) {
  if (should_fail("fsync_dir")) return errno_error("cannot sync directory " + path + " (injected)", err_);
  return base_.fsync_dir(path);
}

}  // namespace volley
