// Total and per-client-address connection limits (limits.max_connections,
// limits.max_connections_per_ip), shared by all listeners and threads. A
// Permit is held for the life of a connection and returns its slot when
// destroyed.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace volley::net {

class ConnectionLimiter {
 public:
  enum class Refusal { None, Total, PerIp };

  class Permit {
   public:
    Permit() = default;
    Permit(ConnectionLimiter* owner, std::string ip) : owner_(owner), ip_(std::move(ip)) {}
    Permit(Permit&& o) noexcept : owner_(o.owner_), ip_(std::move(o.ip_)) { o.owner_ = nullptr; }
    Permit& operator=(Permit&& o) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { release(); }
    explicit operator bool() const { return owner_ != nullptr; }
    void release();

   private:
    ConnectionLimiter* owner_ = nullptr;
    std::string ip_;
  };

  ConnectionLimiter(uint32_t max_total, uint32_t max_per_ip) : max_total_(max_total), max_per_ip_(max_per_ip) {}
  void set_limits(uint32_t max_total, uint32_t max_per_ip);
  // An empty Permit and the reason when a limit is reached.
  Permit try_acquire(const std::string& ip, Refusal* why);
  uint32_t active() const;

 private:
  void release(const std::string& ip);
  mutable std::mutex mu_;
  uint32_t max_total_;
  uint32_t max_per_ip_;
  uint32_t total_ = 0;
  std::unordered_map<std::string, uint32_t> per_ip_;
};

}  // namespace volley::net
