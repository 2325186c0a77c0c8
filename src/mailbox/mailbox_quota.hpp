// Quota enforcement for local mailboxes, shared by the SMTP intake (RCPT)
// and local delivery. The limit of a mailbox is its user's own quota, else
// mailbox.quota (0 = unlimited); its usage is the Maildir++ maildirsize
// (quota_usage.hpp).
//
// The usage cache, and why: RCPT runs on an I/O thread, which must never
// wait for a directory scan. So check_rcpt() answers from an in-memory
// entry per mailbox that is at most `ttl` old; when the entry is missing or
// stale it reads maildirsize once (one open and one read of at most 5 KB,
// never a scan) and, when that file needs a recalculation, answers "room"
// and lets delivery, which may block, recalculate and enforce. Delivery
// (reserve/delivered, on the blocking pool) reads the authoritative usage
// and refreshes the entry; a commit adds to it at once, so a burst of
// messages for one mailbox sees the usage grow without waiting for the TTL.
// Changes made by others (a POP3 expunge, Dovecot) are seen within `ttl`.
// The cache is bounded (cleared whole when full: it refills from the files).
// Thread-safe.
//
// The usage lock, and why: maildirsize is a scan plus delta lines, so a
// change to a mailbox's files and the delta that accounts for it must not
// straddle a recount. If a recount (maildirsize missing or untrusted) ran
// between a delivery's rename into new/ and its delta append, the message
// would be counted twice: once by the scan, once by the delta (and an
// expunge's negative delta would subtract a file the scan never saw). So
// whoever changes files holds lock_usage() for the mailbox from before the
// change until after add(), and recounts take it too. It is an in-process
// lock (striped, per Maildir path): Dovecot writing the same Maildir can
// still make the file drift, which the over-quota recount repairs.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mailbox/quota_usage.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace volley::mailbox {

// How stale an RCPT answer may be: short enough that an expunge frees room
// within seconds, long enough that a burst of RCPTs costs one file read.
inline constexpr std::chrono::milliseconds kQuotaUsageTtl{5000};
// Mailboxes remembered; ~150 bytes each.
inline constexpr size_t kQuotaCacheEntries = 100000;
// Mutexes the usage locks of all mailboxes share: two mailboxes on one
// stripe only wait for each other's short file changes.
inline constexpr size_t kUsageLockStripes = 256;

enum class Room {
  Ok,
  Full,    // usage + size > limit: 452 4.2.2 at RCPT, deferred 4.2.2 at delivery
  TooBig,  // size alone > limit: 552 5.2.2, bounced
};

// Pure: whether a message of `size` bytes fits a mailbox using `usage`
// under `limit` (0 = unlimited).
Room room_for(uint64_t limit, const QuotaUsage& usage, uint64_t size);

// The quota in force for a local address: its user's own (non-zero) quota,
// else the default. Errors are temporary (users unreadable): no enforcement.
using QuotaLimitLookup = std::function<Result<uint64_t>(const std::string& address)>;

// Proof that the caller holds the usage lock of the mailboxes it names
// (see the header comment); released when destroyed.
class UsageLock {
 public:
  UsageLock() = default;
  UsageLock(UsageLock&&) = default;
  UsageLock& operator=(UsageLock&&) = default;

 private:
  friend class MailboxQuota;
  std::vector<std::unique_lock<std::mutex>> held_;
};

class MailboxQuota {
 public:
  MailboxQuota(std::string mail_root, QuotaLimitLookup limit, const Clock& clock = system_clock(),
               std::chrono::milliseconds ttl = kQuotaUsageTtl);

  // At RCPT (I/O thread; see the header comment). Ok when the limit or the
  // usage is unknown: delivery enforces.
  Room check_rcpt(const std::string& address, uint64_t declared_size);

  // Before delivering `size` bytes to `address` (blocking: recalculates
  // maildirsize when needed). Error MailboxFull / TooBigForMailbox, or ok.
  // A failure to read the usage is logged and lets the message in.
  Result<void> reserve(const std::string& address, uint64_t size);

  // The usage lock of the mailboxes of `addresses` (duplicates and
  // addresses on one stripe are taken once; always in stripe order, so two
  // callers never deadlock). Blocks while another thread changes one of them.
  UsageLock lock_usage(const std::vector<std::string>& addresses);

  // After a delivery committed (`bytes` > 0) or an expunge (< 0), with the
  // usage lock of `address` held since before the files changed: appends to
  // maildirsize (or recounts when it is missing) and updates the cached usage
  // (blocking: a file append).
  void add(const UsageLock& held, const std::string& address, int64_t bytes, int64_t count);

 private:
  struct Cached {
    QuotaUsage usage;
    Clock::SteadyTime fetched;
  };
  std::optional<uint64_t> limit_of(const std::string& address) const;
  size_t stripe_of(const std::string& maildir) const;
  void remember(const std::string& maildir, const QuotaUsage& usage);

  std::string mail_root_;
  QuotaLimitLookup limit_;
  const Clock& clock_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // by Maildir path
  std::array<std::mutex, kUsageLockStripes> stripes_;
};

}  // namespace volley::mailbox
