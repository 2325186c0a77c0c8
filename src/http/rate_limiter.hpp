// api.rate_limit: a token bucket per API key. A key may burst up to the
// rate's count at once, then gets tokens back at count/period; a request
// finding the bucket empty is told how long to wait (429 + Retry-After).
// Times are passed in, so tests run it on fake time. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace volley::http {

// Keys tracked at once. Keys are few (an operator creates them), but a
// bound costs nothing: at the limit, buckets that are full again (the same
// as a new one) are forgotten first, then the least recently used.
inline constexpr size_t kMaxRateLimitedKeys = 10000;

class RateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Rate {
    uint64_t count = 100;
    std::chrono::milliseconds period{1000};
  };
  explicit RateLimiter(size_t max_keys = kMaxRateLimitedKeys) : max_keys_(max_keys) {}

  // Takes one token from `key`'s bucket. 0: allowed; otherwise the whole
  // seconds (>= 1) until a token is there again.
  uint64_t acquire(const std::string& key, const Rate& rate, TimePoint now);
  size_t size();

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint updated{};
  };
  void refill(Bucket& b, const Rate& rate, TimePoint now) const;
  void make_room(const Rate& rate, TimePoint now);

  size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace volley::http
