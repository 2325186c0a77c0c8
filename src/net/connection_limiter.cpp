#include "net/connection_limiter.hpp"

namespace volley::net {

ConnectionLimiter::Permit& ConnectionLimiter::Permit::operator=(Permit&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = o.owner_;
    ip_ = std::move(o.ip_);
    o.owner_ = nullptr;
  }
  return *this;
}

void ConnectionLimiter::Permit::release() {
  if (owner_) owner_->release(ip_);
  owner_ = nullptr;
}

void ConnectionLimiter::set_limits(uint32_t max_total, uint32_t max_per_ip) {
  std::lock_guard lock(mu_);
  max_total_ = max_total;
  max_per_ip_ = max_per_ip;
}

ConnectionLimiter::Permit ConnectionLimiter::try_acquire(const std::string& ip, Refusal* why) {
  std::lock_guard lock(mu_);
  if (total_ >= max_total_) {
    if (why) *why = Refusal::Total;
    return {};
  }
  uint32_t& n = per_ip_[ip];
  if (n >= max_per_ip_) {
    if (n == 0) per_ip_.erase(ip);
    if (why) *why = Refusal::PerIp;
    return {};
  }
  ++n;
  ++total_;
  if (why) *why = Refusal::None;
  return Permit(this, ip);
}

void ConnectionLimiter::release(const std::string& ip) {
  std::lock_guard lock(mu_);
  if (total_ > 0) --total_;
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

uint32_t ConnectionLimiter::active() const {
  std::lock_guard lock(mu_);
  return total_;
}

}  // namespace volley::net
