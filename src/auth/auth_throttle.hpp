// Per-client-address authentication failure budget, shared by all
// connections, so a brute-forcer that reconnects is slowed as well. Each
// failure from an address lengthens the delay before the next 535 answered to
// that address: delay = min(base * failures_in_window, max). Entries expire
// after `window` without failures; the table is bounded (oldest evicted) so a
// flood of distinct addresses cannot exhaust memory. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace volley::auth {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  struct Settings {
    std::chrono::milliseconds base_delay{1000};
    std::chrono::milliseconds max_delay{10000};
    std::chrono::milliseconds window{15 * 60 * 1000};
    size_t max_entries = 100000;
  };
  explicit AuthThrottle(Settings s) : s_(s) {}
  void update_settings(Settings s);

  // Records a failure and returns how long to wait before answering it.
  std::chrono::milliseconds record_failure(const std::string& ip, Clock::time_point now = Clock::now());
  // Failures remembered for this address (after expiry).
  unsigned failures(const std::string& ip, Clock::time_point now = Clock::now());
  // A success does not wipe the address's record: a botnet guessing through
  // one valid account would otherwise reset its own penalty.

 private:
  struct Entry {
    unsigned count = 0;
    Clock::time_point last;
  };
  void expire_locked(Clock::time_point now);
  Settings s_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> table_;
};

}  // namespace volley::auth
