// Every live connection of the process, all listeners and protocols: the
// total and per-address limits checked at accept, and the drain on SIGTERM
// (stop accepting, ask every live connection to end at its next request
// boundary). Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "net/connection_limiter.hpp"

namespace volley::net {

// What the drain needs from a live connection.
class Drainable {
 public:
  virtual ~Drainable() = default;
  // Called from any thread; the connection posts to its own executor.
  virtual void request_drain() = 0;
};

class ConnectionTable {
 public:
  ConnectionTable(uint32_t max_total, uint32_t max_per_ip) : limiter_(max_total, max_per_ip) {}

  ConnectionLimiter& limiter() { return limiter_; }
  uint32_t active() const { return limiter_.active(); }

  bool draining() const { return draining_.load(); }
  void begin_drain();
  void add(const std::shared_ptr<Drainable>& c);
  void remove(Drainable* c);

 private:
  ConnectionLimiter limiter_;
  std::atomic<bool> draining_{false};
  std::mutex mu_;
  std::unordered_map<Drainable*, std::weak_ptr<Drainable>> live_;
};

}  // namespace volley::net
