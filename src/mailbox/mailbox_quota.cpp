#include "mailbox/mailbox_quota.hpp"

#include <algorithm>

#include "mailbox/maildir.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::mailbox {

Room room_for(uint64_t limit, const QuotaUsage& usage, uint64_t size) {
  if (limit == 0) return Room::Ok;
  if (size > limit) return Room::TooBig;
  const uint64_t used = usage.bytes > 0 ? static_cast<uint64_t>(usage.bytes) : 0;
  // "Over quota" includes exactly at the limit with nothing declared: a
  // full mailbox takes no more mail, however small.
  if (used >= limit || size > limit - used) return Room::Full;
  return Room::Ok;
}

MailboxQuota::MailboxQuota(std::string mail_root, QuotaLimitLookup limit, const Clock& clock,
                           std::chrono::milliseconds ttl)
    : mail_root_(std::move(mail_root)), limit_(std::move(limit)), clock_(clock), ttl_(ttl) {}

std::optional<uint64_t> MailboxQuota::limit_of(const std::string& address) const {
  auto l = limit_(address);
  if (!l) return std::nullopt;
  return *l;
}

size_t MailboxQuota::stripe_of(const std::string& maildir) const {
  return std::hash<std::string>{}(maildir) % kUsageLockStripes;
}

UsageLock MailboxQuota::lock_usage(const std::vector<std::string>& addresses) {
  std::vector<size_t> stripes;
  stripes.reserve(addresses.size());
  for (const auto& a : addresses)
    if (auto dir = maildir_for(mail_root_, a)) stripes.push_back(stripe_of(*dir));
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  UsageLock lock;
  lock.held_.reserve(stripes.size());
  for (size_t s : stripes) lock.held_.emplace_back(stripes_[s]);
  return lock;
}

void MailboxQuota::remember(const std::string& maildir, const QuotaUsage& usage) {
  std::lock_guard lock(mu_);
  if (cache_.size() >= kQuotaCacheEntries && cache_.find(maildir) == cache_.end()) cache_.clear();
  cache_[maildir] = Cached{usage, clock_.steady_now()};
}

Room MailboxQuota::check_rcpt(const std::string& address, uint64_t declared_size) {
  auto limit = limit_of(address);
  if (!limit || *limit == 0) return Room::Ok;
  if (declared_size > *limit) return Room::TooBig;
  auto dir = maildir_for(mail_root_, address);
  if (!dir) return Room::Ok;  // refused elsewhere
  std::optional<QuotaUsage> usage;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(*dir);
    if (it != cache_.end() && clock_.steady_now() - it->second.fetched < ttl_) usage = it->second.usage;
  }
  if (!usage) {
    usage = peek_usage(*dir);  // one small read, never a scan
    if (!usage) return Room::Ok;  // needs a recalculation: delivery will do it and enforce
    remember(*dir, *usage);
  }
  return room_for(*limit, *usage, declared_size);
}

Result<void> MailboxQuota::reserve(const std::string& address, uint64_t size) {
  auto limit = limit_of(address);
  if (!limit || *limit == 0) return {};
  auto dir = maildir_for(mail_root_, address);
  if (!dir) return {};
  // A recount must not run while another delivery is between its rename
  // and its delta (see the header comment).
  std::unique_lock<std::mutex> counting(stripes_[stripe_of(*dir)]);
  auto usage = read_usage(*dir, {*limit, 0});
  counting.unlock();
  if (!usage) {
    log::warn("quota.usage_unreadable").kv("mailbox", address).kv("error", usage.error().message);
    return {};  // never lose mail over a quota file
  }
  remember(*dir, *usage);
  switch (room_for(*limit, *usage, size)) {
    case Room::Ok: return {};
    case Room::TooBig:
      return make_error(ErrorCode::TooBigForMailbox,
                        concat("message of ", std::to_string(size), " bytes exceeds the quota of ", address));
    case Room::Full: break;
  }
  return make_error(ErrorCode::MailboxFull, concat("mailbox ", address, " is over its quota (",
                                                   std::to_string(usage->bytes), " of ", std::to_string(*limit),
                                                   " bytes used)"));
}

void MailboxQuota::add(const UsageLock& /*held*/, const std::string& address, int64_t bytes, int64_t count) {
  auto dir = maildir_for(mail_root_, address);
  if (!dir) return;
  auto limit = limit_of(address);
  if (auto r = add_usage(*dir, bytes, count, {limit.value_or(0), 0}); !r)
    log::warn("quota.update_failed").kv("mailbox", address).kv("error", r.error().message);
  std::lock_guard lock(mu_);
  auto it = cache_.find(*dir);
  if (it != cache_.end()) {
    it->second.usage.bytes += bytes;
    it->second.usage.count += count;
  }
}

}  // namespace volley::mailbox
