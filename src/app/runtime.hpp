// State shared by every connection: the current configuration snapshot
// (swapped whole on SIGHUP), the spool, users, throttles and limits.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "app/queue_control.hpp"
#include "inbound/authenticator.hpp"
#include "inbound/recipient_directory.hpp"
#include "auth/auth_throttle.hpp"
#include "auth/user_directory.hpp"
#include "config/config.hpp"
#include "net/connection_limiter.hpp"
#include "queue/log_spool.hpp"

namespace volley::app {

// One immutable view of the configuration; connections keep the snapshot
// they started with, so a reload never changes rules under a transaction.
struct Snapshot {
  config::Config cfg;
  std::shared_ptr<asio::ssl::context> tls;  // null when no listener needs TLS
  std::unique_ptr<inbound::RecipientDirectory> directory;
  std::unique_ptr<inbound::Authenticator> authenticator;
};

// What the drain logic needs from a live connection.
class DrainTarget {
 public:
  virtual ~DrainTarget() = default;
  // Called from any thread; the connection posts to its own executor.
  virtual void request_drain() = 0;
};

class Runtime {
 public:
  Runtime(std::unique_ptr<queue::LogSpool> spool, std::unique_ptr<auth::UserDirectory> users, const config::Config& cfg);

  std::shared_ptr<const Snapshot> snapshot() const;
  void set_snapshot(std::shared_ptr<const Snapshot> s);

  queue::Spool& spool() { return *spool_; }
  queue::QueueAdmin& queue_admin() { return control_; }
  queue::LogSpool& log_spool() { return *spool_; }
  // Set once at start-up, before any listener runs.
  void set_engine(delivery::Engine* engine) {
    engine_ = engine;
    control_.set_engine(engine);
  }
  // A message the intake just committed: hand it to delivery with its body.
  void queued(std::shared_ptr<const queue::Message> m) {
    if (engine_) engine_->submit(std::move(m));
  }
  auth::UserDirectory& users() { return *users_; }
  auth::AuthThrottle& auth_throttle() { return throttle_; }
  net::ConnectionLimiter& limiter() { return limiter_; }
  asio::thread_pool& blocking_pool() { return blocking_; }

  bool draining() const { return draining_.load(); }
  void begin_drain();
  void register_connection(const std::shared_ptr<DrainTarget>& c);
  void unregister_connection(DrainTarget* c);
  size_t connection_count() const;

 private:
  std::unique_ptr<queue::LogSpool> spool_;
  QueueControl control_{*spool_};
  delivery::Engine* engine_ = nullptr;
  std::unique_ptr<auth::UserDirectory> users_;
  auth::AuthThrottle throttle_;
  net::ConnectionLimiter limiter_;
  // Password hashing is deliberately slow: keep it off the I/O threads.
  asio::thread_pool blocking_{2};

  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::unordered_map<DrainTarget*, std::weak_ptr<DrainTarget>> connections_;
  std::atomic<bool> draining_{false};
};

auth::AuthThrottle::Settings throttle_settings(const config::Limits& l);

}  // namespace volley::app
