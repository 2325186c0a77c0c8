// The delivery engine (Postfix's qmgr + smtp + local in one thread): takes
// due messages from the scheduler, splits their recipients by destination
// (Router), delivers local ones through the Maildir DeliveryTarget and remote
// ones over pooled outbound SMTP connections per Destination (queue,
// connection limits, shaping, back-off, route cache), then has the
// RoundRecorder record each round (spool update or erase, logs, DSNs) and
// reschedules. The engine itself is the glue: threads, timers, the active
// set and its memory budget, and the connection loop.
//
// Threading: everything below runs on the engine's own thread and
// io_context; submit(), reconfigure() and the admin calls may come from any
// thread and are posted to it. Blocking work (Maildir writes with fsync,
// reading a message back from the spool) runs on a small thread pool.
//
// Memory: the scheduler holds ids and due times only. Bodies are in memory
// only for messages being delivered ("active"), bounded by
// delivery.max_active_messages and delivery.max_active_bytes (ActiveBudget:
// a body is charged before it is loaded, so the cap also holds for bodies
// read back from disk); a fresh message keeps the body it arrived with, so
// most mail is never read back from disk.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "delivery/active_budget.hpp"
#include "delivery/destination.hpp"
#include "delivery/job.hpp"
#include "delivery/limits.hpp"
#include "delivery/outcome.hpp"
#include "delivery/recipient_consumer.hpp"
#include "delivery/round_recorder.hpp"
#include "delivery/router.hpp"
#include "delivery/shaping.hpp"
#include "delivery/smtp_client.hpp"
#include "delivery/waiting_room.hpp"
#include "mailbox/mailbox_quota.hpp"
#include "queue/envelope.hpp"
#include "queue/log_spool.hpp"
#include "queue/scheduler.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace volley::delivery {

class DnsResolver;

class Engine {
 public:
  // `clock` gives due times, expiry and shaping slots (fake in tests).
  Engine(queue::LogSpool& spool, const config::Config& cfg, const Clock& clock = system_clock());
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Schedules everything in the spool and starts the engine thread.
  Result<void> start();
  // Stops taking new work, lets transactions in flight finish (bounded by
  // `grace`), then stops. Messages not finished are retried at next start.
  void stop(std::chrono::milliseconds grace);

  // A message just committed by the intake (any thread).
  void submit(std::shared_ptr<const queue::Message> m);
  // A message just committed whose body was streamed to disk and is not in
  // memory (large messages): scheduled due now, loaded with one read when
  // its turn comes (any thread).
  void submit_stored(const std::string& id);
  void reconfigure(const config::Config& cfg);
  // Quotas for local delivery (before start(); null = none). Must outlive the engine.
  void set_mailbox_quota(mailbox::MailboxQuota* quota) { quota_ = quota; }
  // The sending platform's view of tracked messages' rounds; before start().
  void set_round_observer(RoundObserver* observer) { recorder_.set_observer(observer); }
  // Recipients consumed by the daemon itself (the platform's report
  // addresses; recipient_consumer.hpp); before start(). Null = none.
  void set_recipient_consumer(RecipientConsumer* consumer) { consumer_ = consumer; }

  // Admin (any thread; block until the engine answered).
  Result<size_t> retry(const std::string& id);
  Result<size_t> retry_all();
  Result<size_t> flush(const std::string& domain);
  void forget(const std::string& id);  // deleted by the admin

  // What the engine holds right now, and how many bodies it has read back
  // from the spool since start (tests; later metrics). Any thread, once started.
  struct Stats {
    uint64_t loads = 0;    // bodies read back from the spool
    size_t scheduled = 0;  // ids in the scheduler (parked ones included)
    size_t waiting = 0;    // ids parked on full destinations
    size_t active = 0;     // messages being delivered
  };
  Stats stats();

 private:
  // One [[delivery.shaping]] rule's shared state: connections and rate
  // slots across every destination it covers.
  struct RuleState {
    unsigned connections = 0;
    RateLimiter rate;
  };

  // engine.cpp: scheduling and bookkeeping
  void activate(std::shared_ptr<const queue::Message> m, uint64_t charged);
  void load(const std::string& id, uint64_t bytes);
  void dispatch(const std::shared_ptr<ActiveMessage>& a);
  void pump_scheduler();
  void arm_pump_timer(bool full = false);
  void complete_job(Job& job, std::vector<RcptOutcome>& outcomes);
  void finish_round(const std::shared_ptr<ActiveMessage>& a);
  // A round that left recipients untried at a full destination: the id
  // waits for that destination instead of being reloaded every second.
  void park(const std::string& id, const std::string& key);
  // Makes up to `n` ids waiting for `key` due now (a job slot freed).
  void wake_waiting(const std::string& key, size_t n);
  // Releases what waits for destinations that have room again (changed
  // limits, a destination forgotten, any missed wake-up).
  void wake_all_waiting();
  void housekeeping();
  int64_t now_ms() const { return clock_.unix_ms(); }
  template <class F>
  auto call(F fn) -> decltype(fn());
  const config::Config& cfg() const { return *cfg_; }

  // engine_connections.cpp: opening and running outbound connections
  void pump_destination(const std::shared_ptr<Destination>& d);
  void fail_queued(Destination& d, const RcptOutcome& why);
  asio::awaitable<void> run_connection(std::shared_ptr<Destination> d, int rule, uint64_t generation);
  asio::awaitable<bool> wait_for_job(std::shared_ptr<Destination> d);
  asio::awaitable<void> wait_for_rate(std::shared_ptr<Destination> d);
  std::vector<asio::ip::address> next_sources();
  ClientSettings client_settings(bool smarthost) const;

  // engine_local.cpp: Maildir, and the consumer's target; both on the blocking pool
  void deliver_local(Job job);
  void deliver_consumed(Job job);
  void deliver_on_pool(Job job, std::shared_ptr<DeliveryTarget> target);

  queue::LogSpool& spool_;
  mailbox::MailboxQuota* quota_ = nullptr;
  RecipientConsumer* consumer_ = nullptr;
  const Clock& clock_;
  std::shared_ptr<const config::Config> cfg_;
  uint64_t config_generation_ = 1;
  asio::io_context io_;
  std::thread thread_;
  asio::thread_pool pool_{limits::kBlockingThreads};
  std::unique_ptr<DnsResolver> resolver_;
  std::unique_ptr<MtaStsSource> mta_sts_;  // delivery.mta_sts; over resolver_
  std::unique_ptr<Router> router_;  // over resolver_ (and mta_sts_)
  RoundRecorder recorder_;
  std::shared_ptr<asio::ssl::context> tls_;
  queue::Scheduler scheduler_;
  asio::steady_timer pump_timer_;
  asio::steady_timer housekeeping_timer_;
  std::unordered_map<std::string, std::shared_ptr<ActiveMessage>> active_;
  ActiveBudget budget_;  // active and loading messages and their bodies
  uint64_t loads_ = 0;    // Stats::loads
  size_t in_flight_ = 0;  // transactions and Maildir writes under way (stop waits for these only)
  Destinations destinations_;
  WaitingRoom waiting_;  // ids parked on full destinations (also in scheduler_)
  std::vector<RuleState> rules_;
  unsigned total_connections_ = 0;
  bool starved_ = false;  // a destination waited for delivery.max_connections
  size_t next_source_ = 0;
  bool stopping_ = false;
  std::atomic<bool> started_{false};
};

}  // namespace volley::delivery
