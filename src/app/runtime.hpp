// State shared by every connection: the current configuration snapshot
// (swapped whole on SIGHUP), the spool, users, throttles, and the table of
// live connections (limits, drain). The inbound stage sees it only through
// inbound::Intake.
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
#include "auth/auth_throttle.hpp"
#include "auth/login_cache.hpp"
#include "auth/user_directory.hpp"
#include "config/config.hpp"
#include "inbound/intake.hpp"
#include "inbound/limits.hpp"
#include "mailbox/mailbox_quota.hpp"
#include "net/connection_table.hpp"
#include "queue/log_spool.hpp"

namespace volley::app {

using Snapshot = inbound::Snapshot;

class Runtime final : public inbound::Intake {
 public:
  Runtime(std::unique_ptr<queue::LogSpool> spool, std::unique_ptr<auth::UserDirectory> users, const config::Config& cfg);

  std::shared_ptr<const Snapshot> snapshot() const override;
  void set_snapshot(std::shared_ptr<const Snapshot> s);

  queue::Spool& spool() override { return *spool_; }
  queue::QueueAdmin& queue_admin() { return control_; }
  queue::LogSpool& log_spool() { return *spool_; }
  // Set once at start-up, before any listener runs.
  void set_engine(delivery::Engine* engine) {
    engine_ = engine;
    control_.set_engine(engine);
  }
  // A message the intake just committed: hand it to delivery with its body.
  void queued(std::shared_ptr<const queue::Message> m) override {
    if (engine_) engine_->submit(std::move(m));
  }
  // A large message the intake committed with its body in a body file: the
  // engine loads it from disk when its turn comes.
  void queued_stored(const std::string& id) override {
    if (engine_) engine_->submit_stored(id);
  }
  auth::UserDirectory& users() { return *users_; }
  auth::AuthThrottle& auth_throttle() { return throttle_; }
  // Recent successful logins, shared by every protocol and kept across reloads.
  auth::LoginCache& login_cache() { return login_cache_; }
  // Mailbox quotas (limits from the users and mailbox.quota, usage cache):
  // RCPT checks and local delivery share it.
  mailbox::MailboxQuota& mailbox_quota() { return *quota_; }
  asio::thread_pool& blocking_pool() override { return blocking_; }
  asio::thread_pool& spill_pool() override { return spill_; }
  // Live connections of every listener: limits at accept, drain on SIGTERM.
  const std::shared_ptr<net::ConnectionTable>& connections() { return connections_; }

 private:
  std::unique_ptr<queue::LogSpool> spool_;
  QueueControl control_{*spool_};
  delivery::Engine* engine_ = nullptr;
  std::unique_ptr<auth::UserDirectory> users_;
  auth::AuthThrottle throttle_;
  auth::LoginCache login_cache_;
  std::unique_ptr<mailbox::MailboxQuota> quota_;
  std::shared_ptr<net::ConnectionTable> connections_;
  // Password hashing is deliberately slow: keep it off the I/O threads.
  asio::thread_pool blocking_{inbound::kPasswordCheckThreads};
  // Large messages' bodies are written and fdatasync'd here, and POP3
  // reads and commits mailboxes, off the I/O threads and apart from password
  // checks (so logins stay quick while big messages move, and a flood of
  // logins does not stall downloads); 4 so that one slow sync does not hold
  // up every other client's disk work.
  static constexpr int kSpillWriterThreads = 4;
  asio::thread_pool spill_{kSpillWriterThreads};

  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;
};

auth::AuthThrottle::Settings throttle_settings(const config::Limits& l);

}  // namespace volley::app
