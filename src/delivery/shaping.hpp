// Traffic shaping decisions, pure and clock-free (times are passed in):
// which [[delivery.shaping]] rule covers a destination, evenly spaced
// message slots for max_rate, and back-off after throttling replies.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "delivery/limits.hpp"

namespace volley::delivery {

// "gmail.com" matches the domain gmail.com and, as an MX host suffix, any
// host equal to or ending in ".gmail.com"; "*.example.net" matches names
// ending in ".example.net" (not example.net itself). Case-insensitive.
bool shaping_matches(std::string_view pattern, std::string_view name);

// The first rule matching the destination domain, else the first matching
// one of its MX hosts; -1 when none.
int find_shaping_rule(const std::vector<config::ShapingRule>& rules, std::string_view domain,
                      const std::vector<std::string>& mx_hosts);

// max_rate as evenly spaced slots: "3000/h" lets one message start every
// 1.2 s. No burst: receivers measure rate over short windows.
class RateLimiter {
 public:
  RateLimiter() = default;
  RateLimiter(uint64_t count, std::chrono::milliseconds period);
  bool limited() const { return interval_ms_ > 0; }
  // Takes the next slot; returns the unix-ms time at which it may be used
  // (now_ms when free).
  int64_t reserve(int64_t now_ms);

 private:
  double interval_ms_ = 0;
  double next_ms_ = 0;
};

// After a 421 or 4.7.x reply: halve the connections and pause new ones,
// more with each throttle in a row; each success undoes one step.
class Backoff {
 public:
  static constexpr unsigned kMaxLevel = limits::kMaxBackoffLevel;
  void on_throttle(int64_t now_ms);
  void on_success();
  unsigned level() const { return level_; }
  // The connection limit to honour now (at least 1).
  unsigned limit(unsigned configured) const;
  int64_t paused_until_ms() const { return paused_until_ms_; }

 private:
  unsigned level_ = 0;
  int64_t paused_until_ms_ = 0;
};

}  // namespace volley::delivery
