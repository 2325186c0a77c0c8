#include "app/runtime.hpp"

namespace volley::app {

auth::AuthThrottle::Settings throttle_settings(const config::Limits& l) {
  auth::AuthThrottle::Settings s;
  s.base_delay = l.auth_failure_delay;
  s.max_delay = l.auth_failure_max_delay;
  s.window = l.auth_failure_window;
  s.max_failures_per_window = l.max_auth_failures_per_ip;
  s.budget_window = l.auth_failures_per_ip_window;
  return s;
}

Runtime::Runtime(std::unique_ptr<queue::LogSpool> spool, std::unique_ptr<auth::UserDirectory> users, const config::Config& cfg)
    : spool_(std::move(spool)),
      users_(std::move(users)),
      throttle_(throttle_settings(cfg.limits)),
      connections_(std::make_shared<net::ConnectionTable>(cfg.limits.max_connections, cfg.limits.max_connections_per_ip)) {
  // A user's own quota, else mailbox.quota of the configuration in force
  // (reloads change it); an address that is no user (a postmaster mailbox)
  // gets the default. Users unreadable: no limit is enforced (temporary).
  quota_ = std::make_unique<mailbox::MailboxQuota>(
      cfg.server.data_dir + "/mail", [this](const std::string& address) -> Result<uint64_t> {
        auto snap = snapshot();
        const uint64_t fallback = snap ? snap->cfg.mailbox.quota : 0;
        auto user = users_->find(address);
        if (user) return user->quota_bytes != 0 ? user->quota_bytes : fallback;
        if (user.error().code == ErrorCode::NotFound) return fallback;
        return user.error();
      });
}

std::shared_ptr<const Snapshot> Runtime::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

void Runtime::set_snapshot(std::shared_ptr<const Snapshot> s) {
  connections_->limiter().set_limits(s->cfg.limits.max_connections, s->cfg.limits.max_connections_per_ip);
  throttle_.update_settings(throttle_settings(s->cfg.limits));
  std::lock_guard lock(mu_);
  snapshot_ = std::move(s);
}

}  // namespace volley::app
