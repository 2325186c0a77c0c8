#include "mailbox/dotlock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <thread>

#include "util/strings.hpp"

namespace volley::mailbox {
namespace {

constexpr time_t kStalePidCheckSecs = 2;  // Dovecot's STALE_PID_CHECK_SECS
constexpr size_t kMaxLockContent = 512;
constexpr auto kRetryPause = std::chrono::milliseconds(20);

// Lock paths this process holds now.
std::mutex g_held_mutex;
std::set<std::string> g_held;

bool register_held(const std::string& path) {
  std::lock_guard lock(g_held_mutex);
  return g_held.insert(path).second;
}
void unregister_held(const std::string& path) {
  std::lock_guard lock(g_held_mutex);
  g_held.erase(path);
}
bool held_here(const std::string& path) {
  std::lock_guard lock(g_held_mutex);
  return g_held.count(path) != 0;
}

// Enough to tell a lock from the one a racing locker made in its place
// (an inode number can be reused at once; the nanosecond ctime cannot).
struct LockState {
  dev_t dev = 0;
  ino_t ino = 0;
  time_t mtime = 0;
  timespec ctime{};
  bool operator==(const LockState& o) const {
    return dev == o.dev && ino == o.ino && mtime == o.mtime && ctime.tv_sec == o.ctime.tv_sec &&
           ctime.tv_nsec == o.ctime.tv_nsec;
  }
};

bool state_of(const std::string& path, LockState& out) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return false;
  out = {st.st_dev, st.st_ino, st.st_mtime, st.st_ctim};
  return true;
}

// The pid in "<pid>:<host>" when host is this host (gethostname(), as
// Dovecot writes, or the name this process writes); -1 otherwise.
pid_t local_pid_of(const std::string& path, const std::string& host) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[kMaxLockContent];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return -1;
  std::string_view s(buf, static_cast<size_t>(n));
  if (s.back() == '\n') s.remove_suffix(1);
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 9) return -1;
  const std::string_view lock_host = s.substr(colon + 1);
  if (lock_host != host && lock_host != local_hostname()) return -1;
  pid_t pid = 0;
  for (char c : s.substr(0, colon)) {
    if (c < '0' || c > '9') return -1;
    pid = pid * 10 + (c - '0');
  }
  return pid > 0 ? pid : -1;
}

bool is_stale(const std::string& path, const LockState& state, const DotlockOptions& options, const std::string& host) {
  const time_t now = ::time(nullptr);
  if (state.mtime < now - kStalePidCheckSecs) {
    const pid_t pid = local_pid_of(path, host);
    if (pid > 0) {
      if (pid == ::getpid()) return !held_here(path);
      if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
      return false;  // a live local holder: only the mtime rule below could override it, and it refreshes
    }
  }
  return now > state.mtime + static_cast<time_t>(options.stale_after.count());
}

}  // namespace

std::string local_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

Result<std::unique_ptr<Dotlock>> Dotlock::acquire(FileSystem& fs, std::string lock_path, const DotlockOptions& options) {
  const std::string host = options.hostname.empty() ? local_hostname() : options.hostname;
  const auto deadline = std::chrono::steady_clock::now() + options.wait;
  for (;;) {
    // Held by a thread of this process: never look at the file.
    if (!held_here(lock_path)) {
      auto opened = fs.open(lock_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (opened) {
        const int fd = *opened;
        std::string content = std::to_string(::getpid());
        content += ':';
        content += host;
        // An empty lock is still a lock (Dovecot leaves it empty when the write fails).
        (void)fs.write_all(fd, content);
        if (!register_held(lock_path)) {
          // Another thread created and registered it between our check and open: impossible
          // with O_EXCL, but never remove a lock we do not own.
          (void)fs.close(fd);
          return make_error(ErrorCode::Busy, concat(lock_path, " is held"));
        }
        return std::unique_ptr<Dotlock>(new Dotlock(fs, std::move(lock_path), fd));
      }
      if (opened.error().code != ErrorCode::AlreadyExists) return opened.error();
      LockState before;
      if (!state_of(lock_path, before)) continue;  // just released: try again at once
      if (is_stale(lock_path, before, options, host)) {
        // Remove it only if it is still the same file (not one a racing locker just made).
        LockState now;
        if (state_of(lock_path, now) && now == before) (void)fs.unlink(lock_path);
        continue;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(ErrorCode::Busy, concat(lock_path, " is held by another process"));
    std::this_thread::sleep_for(kRetryPause);
  }
}

Dotlock::~Dotlock() { release(); }

void Dotlock::release() {
  if (fd_ >= 0) {
    (void)fs_.close(fd_);
    fd_ = -1;
  }
  if (!held_) return;
  held_ = false;
  (void)fs_.unlink(path_);
  unregister_held(path_);
}

Result<void> Dotlock::touch() {
  if (!held_) return make_error(ErrorCode::Invalid, "lock not held");
  if (::utimensat(AT_FDCWD, path_.c_str(), nullptr, AT_SYMLINK_NOFOLLOW) != 0) return errno_error(concat("touch ", path_), errno);
  return {};
}

Result<void> Dotlock::commit_as(std::string_view content, const std::string& target) {
  if (!held_ || fd_ < 0) return make_error(ErrorCode::Invalid, "lock not held");
  if (auto r = fs_.ftruncate(fd_, 0); !r) return r;
  struct iovec iov {};
  iov.iov_base = const_cast<char*>(content.data());
  iov.iov_len = content.size();
  if (!content.empty())
    if (auto r = fs_.pwritev_all(fd_, &iov, 1, 0); !r) return r;
  if (auto r = fs_.fsync(fd_); !r) return r;
  if (auto r = fs_.rename(path_, target); !r) return r;
  // The lock is gone now (it became `target`): nothing to unlink.
  held_ = false;
  unregister_held(path_);
  (void)fs_.close(fd_);
  fd_ = -1;
  const size_t slash = target.rfind('/');
  return fs_.fsync_dir(slash == std::string::npos ? std::string(".") : target.substr(0, slash));
}

}  // namespace volley::mailbox
