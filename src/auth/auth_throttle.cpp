#include "auth/auth_throttle.hpp"

#include <algorithm>
#include <limits>
#include <vector>

namespace volley::auth {
namespace {

// min(base * failures, max) without overflow for any failure count.
std::chrono::milliseconds delay_for(unsigned failures, std::chrono::milliseconds base, std::chrono::milliseconds max) {
  if (base.count() <= 0 || max.count() <= 0 || failures == 0) return std::chrono::milliseconds(0);
  if (static_cast<uint64_t>(failures) > static_cast<uint64_t>(max.count() / base.count())) return max;
  return std::min(base * failures, max);
}

}  // namespace

void AuthThrottle::update_settings(Settings s) {
  std::lock_guard lock(mu_);
  s_ = s;
  expire_locked(Clock::now());
}

bool AuthThrottle::expired_locked(const Entry& e, Clock::time_point now) const {
  return now - e.last >= s_.window && now - e.budget_start >= s_.budget_window;
}

// The address's entry, with windows that have passed reset; nullptr when
// absent and not `create`d (or when the table may hold nothing).
AuthThrottle::Entry* AuthThrottle::entry_locked(const std::string& ip, Clock::time_point now, bool create) {
  auto it = table_.find(ip);
  if (it == table_.end()) {
    if (!create) return nullptr;
    // Only a new address can grow the table, so only then is room made.
    if (table_.size() >= s_.max_entries) expire_locked(now);
    if (s_.max_entries == 0) return nullptr;
    Entry fresh;
    fresh.last = now - s_.window;  // no failure yet
    fresh.budget_start = now;
    it = table_.emplace(ip, fresh).first;
  }
  Entry& e = it->second;
  if (now - e.last >= s_.window) e.count = 0;
  if (now - e.budget_start >= s_.budget_window) {
    e.budget_start = now;
    e.attempts = 0;
  }
  return &e;
}

bool AuthThrottle::admit(const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (s_.max_failures_per_window == 0) return true;
  Entry* e = entry_locked(ip, now, true);
  if (!e) return true;  // max_entries = 0: nothing is remembered
  if (e->attempts >= s_.max_failures_per_window) return false;
  ++e->attempts;
  return true;
}

void AuthThrottle::release(const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mu_);
  Entry* e = entry_locked(ip, now, false);
  if (e && e->attempts > 0) --e->attempts;
}

std::chrono::milliseconds AuthThrottle::record_failure(const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mu_);
  Entry* e = entry_locked(ip, now, true);
  if (!e) return delay_for(1, s_.base_delay, s_.max_delay);
  if (e->count < std::numeric_limits<unsigned>::max()) ++e->count;
  e->last = now;
  return delay_for(e->count, s_.base_delay, s_.max_delay);
}

unsigned AuthThrottle::failures(const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = table_.find(ip);
  if (it == table_.end()) return 0;
  if (expired_locked(it->second, now)) {
    table_.erase(it);
    return 0;
  }
  return now - it->second.last >= s_.window ? 0 : it->second.count;
}

size_t AuthThrottle::size() {
  std::lock_guard lock(mu_);
  return table_.size();
}

std::chrono::milliseconds AuthThrottle::budget_window() {
  std::lock_guard lock(mu_);
  return s_.budget_window;
}

// Drops expired entries; if the table is still at capacity, evicts the oldest
// eighth at once rather than one entry, so a flood of new addresses costs one
// full scan per max_entries/8 insertions instead of one per insertion.
void AuthThrottle::expire_locked(Clock::time_point now) {
  std::erase_if(table_, [&](const auto& kv) { return expired_locked(kv.second, now); });
  if (table_.empty() || table_.size() < s_.max_entries) return;

  auto last_seen = [](const Entry& e) { return std::max(e.last, e.budget_start); };
  size_t target = s_.max_entries - s_.max_entries / 8;
  if (target > 0 && target == s_.max_entries) --target;  // always make room for one
  size_t evict = table_.size() - target;
  std::vector<Clock::time_point> times;
  times.reserve(table_.size());
  for (const auto& kv : table_) times.push_back(last_seen(kv.second));
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(evict - 1), times.end());
  Clock::time_point cutoff = times[evict - 1];
  // Entries tied with the cutoff may all go: being briefly under target is fine.
  std::erase_if(table_, [&](const auto& kv) { return last_seen(kv.second) <= cutoff; });
}

}  // namespace volley::auth
