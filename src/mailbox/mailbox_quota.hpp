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
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "mailbox/quota_usage.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace volley::mailbox {

// How stale an RCPT answer may be: short enough that an expunge frees room
// within seconds, long enough that a burst of RCPTs costs one file read.
inline constexpr std::chrono::milliseconds kQuotaUsageTtl{5000};
// Mailboxes remembered; ~150 bytes each.
inline constexpr size_t kQuotaCacheEntries = 100000;

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

  // After a delivery committed (`bytes` > 0) or an expunge (< 0): appends
  // to maildirsize and updates the cached usage (blocking: a file append).
  void add(const std::string& address, int64_t bytes, int64_t count);

 private:
  struct Cached {
    QuotaUsage usage;
    Clock::SteadyTime fetched;
  };
  std::optional<uint64_t> limit_of(const std::string& address) const;
  void remember(const std::string& maildir, const QuotaUsage& usage);

  std::string mail_root_;
  QuotaLimitLookup limit_;
  const Clock& clock_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // by Maildir path
};

}  // namespace volley::mailbox
