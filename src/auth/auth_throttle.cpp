#include "auth/auth_throttle.hpp"

#include <algorithm>
#include <limits>
#include <vector>

namespace volley::auth {
namespace {

bool expired(const AuthThrottle::Clock::time_point& last, AuthThrottle::Clock::time_point now,
             std::chrono::milliseconds window) {
  return now - last >= window;
}

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

std::chrono::milliseconds AuthThrottle::record_failure(const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = table_.find(ip);
  if (it == table_.end()) {
    // Only a new address can grow the table, so only then is room made.
    if (table_.size() >= s_.max_entries) expire_locked(now);
    if (s_.max_entries == 0) return delay_for(1, s_.base_delay, s_.max_delay);
    it = table_.emplace(ip, Entry{}).first;
  } else if (expired(it->second.last, now, s_.window)) {
    it->second.count = 0;
  }
  Entry& e = it->second;
  if (e.count < std::numeric_limits<unsigned>::max()) ++e.count;
  e.last = now;
  return delay_for(e.count, s_.base_delay, s_.max_delay);
}

unsigned AuthThrottle::failures(const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = table_.find(ip);
  if (it == table_.end()) return 0;
  if (expired(it->second.last, now, s_.window)) {
    table_.erase(it);
    return 0;
  }
  return it->second.count;
}

// Drops expired entries; if the table is still at capacity, evicts the oldest
// eighth at once rather than one entry, so a flood of new addresses costs one
// full scan per max_entries/8 insertions instead of one per insertion.
void AuthThrottle::expire_locked(Clock::time_point now) {
  std::erase_if(table_, [&](const auto& kv) { return expired(kv.second.last, now, s_.window); });
  if (table_.empty() || table_.size() < s_.max_entries) return;

  size_t target = s_.max_entries - s_.max_entries / 8;
  if (target > 0 && target == s_.max_entries) --target;  // always make room for one
  size_t evict = table_.size() - target;
  std::vector<Clock::time_point> times;
  times.reserve(table_.size());
  for (const auto& kv : table_) times.push_back(kv.second.last);
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(evict - 1), times.end());
  Clock::time_point cutoff = times[evict - 1];
  // Entries tied with the cutoff may all go: being briefly under target is fine.
  std::erase_if(table_, [&](const auto& kv) { return kv.second.last <= cutoff; });
}

}  // namespace volley::auth
