// Dovecot-compatible dot-locks (src/lib/file-dotlock.c): "<file>.lock" (or
// any lock path) created with O_EXCL holds the lock; it contains
// "<pid>:<host>" so another process on this host can tell a dead holder.
// A lock is stale, and is removed, when
//   - it names this host and a pid that no longer exists, and is older than
//     2 s (Dovecot does not read the pid of a lock younger than that), or it
//     names this very process but no Dotlock of this process holds it (a
//     leftover from an earlier run with the same pid: pid 1 in a container);
//   - or it has not been modified for `stale_after` seconds.
// Within one process a lock path is held by at most one Dotlock (a registry),
// so threads never "override" each other's locks as a same-pid check would.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "util/file_system.hpp"
#include "util/result.hpp"

namespace volley::mailbox {

struct DotlockOptions {
  std::chrono::seconds stale_after{120};           // Dovecot: uidlist 120 s, POP3 session 300 s
  std::chrono::milliseconds wait{0};               // how long to retry a held lock; 0 = once
  std::string hostname;                            // written after the pid; empty = gethostname()
};

class Dotlock {
 public:
  // Creates `lock_path` exclusively. ErrorCode::Busy when another holder
  // has it (after retrying for options.wait); NotFound when its directory
  // does not exist; Io otherwise.
  static Result<std::unique_ptr<Dotlock>> acquire(FileSystem& fs, std::string lock_path, const DotlockOptions& options);

  ~Dotlock();  // releases (removes the file) if still held
  Dotlock(const Dotlock&) = delete;
  Dotlock& operator=(const Dotlock&) = delete;

  const std::string& path() const { return path_; }
  // Updates the lock's mtime so a long holder is not taken for stale.
  Result<void> touch();
  // Replaces the lock's content with `content`, fsyncs it and renames it
  // over `target` (the lock is then released: it has become the file), then
  // fsyncs the directory. Dovecot's way of rewriting dovecot-uidlist.
  Result<void> commit_as(std::string_view content, const std::string& target);
  // Removes the lock file.
  void release();

 private:
  Dotlock(FileSystem& fs, std::string path, int fd) : fs_(fs), path_(std::move(path)), fd_(fd) {}
  FileSystem& fs_;
  std::string path_;
  int fd_ = -1;
  bool held_ = true;
};

// The host name Dovecot would write (gethostname(), or "localhost").
std::string local_hostname();

}  // namespace volley::mailbox
