// The clock seam: code that schedules, expires or rate-limits asks a Clock,
// so unit tests run it on fake time (FakeClock) instead of sleeping.
//
// Two readings, because they answer different questions: steady time for
// intervals and deadlines (never jumps), wall time in unix milliseconds for
// anything stored on disk or shown to people (retry due times survive a
// restart, so they cannot be steady_clock).
#pragma once

#include <chrono>
#include <cstdint>

namespace volley {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual SteadyTime steady_now() const = 0;
  virtual int64_t unix_ms() const = 0;
  int64_t unix_seconds() const { return unix_ms() / 1000; }
};

class SystemClock final : public Clock {
 public:
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
  int64_t unix_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// The process-wide real clock (thread-safe: it has no state).
inline const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

// Time that moves only when a test says so. Not thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_ms = 1'700'000'000'000) : unix_ms_(unix_ms) {}
  SteadyTime steady_now() const override { return SteadyTime(steady_); }
  int64_t unix_ms() const override { return unix_ms_; }
  void advance(std::chrono::milliseconds d) {
    steady_ += d;
    unix_ms_ += d.count();
  }

 private:
  std::chrono::steady_clock::duration steady_{std::chrono::hours(1)};
  int64_t unix_ms_;
};

}  // namespace volley
