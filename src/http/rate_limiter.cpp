#include "http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace volley::http {

void RateLimiter::refill(Bucket& b, const Rate& rate, TimePoint now) const {
  const double capacity = static_cast<double>(rate.count);
  if (now > b.updated) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    const double per_second = capacity / std::chrono::duration<double>(rate.period).count();
    b.tokens = std::min(capacity, b.tokens + elapsed * per_second);
  }
  b.tokens = std::min(b.tokens, capacity);  // the rate may have been lowered by a reload
  b.updated = std::max(b.updated, now);
}

void RateLimiter::make_room(const Rate& rate, TimePoint now) {
  const double capacity = static_cast<double>(rate.count);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, rate, now);
    it = it->second.tokens >= capacity ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() < max_keys_) return;
  auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                 [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
  if (oldest != buckets_.end()) buckets_.erase(oldest);
}

uint64_t RateLimiter::acquire(const std::string& key, const Rate& rate, TimePoint now) {
  if (rate.count == 0 || rate.period.count() <= 0) return 0;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) make_room(rate, now);
    it = buckets_.emplace(key, Bucket{static_cast<double>(rate.count), now}).first;
  }
  Bucket& b = it->second;
  refill(b, rate, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  const double per_second = static_cast<double>(rate.count) / std::chrono::duration<double>(rate.period).count();
  const double wait = (1.0 - b.tokens) / per_second;
  // The epsilon: 20.000000001 s of floating-point error is 20 s, not 21.
  return std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(wait - 1e-6)));
}

size_t RateLimiter::size() {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace volley::http
