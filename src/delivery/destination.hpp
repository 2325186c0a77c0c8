// One destination of outbound mail: a recipient domain, or the smarthost
// that takes everything. It holds the jobs waiting for it, counts its
// connections, remembers its route (the endpoints DNS gave, for
// kRouteCacheTime), its back-off after throttling, and whether it is
// suspended because none of its hosts answered (Postfix's "dead
// destination"). State and decisions only: times are passed in (unix ms,
// from the engine's Clock), so every rule is unit-tested on made-up time;
// the engine opens and runs the connections.
//
// Destinations is the engine's table of them; idle ones are forgotten so a
// campaign to many domains does not keep every DNS answer in memory.
#pragma once

#include <asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "delivery/job.hpp"
#include "delivery/outcome.hpp"
#include "delivery/shaping.hpp"
#include "delivery/smtp_client.hpp"

namespace volley::delivery {

// The key under which everything for delivery.smarthost is queued.
inline constexpr const char* kSmarthostKey = "[smarthost]";

class Destination {
 public:
  // `domain` is what MX lookups and shaping rules see ("" for the smarthost).
  Destination(std::string key, std::string domain) : key_(std::move(key)), domain_(std::move(domain)) {}
  const std::string& key() const { return key_; }
  const std::string& domain() const { return domain_; }
  bool is_smarthost() const { return key_ == kSmarthostKey; }

  // ---- jobs ----
  // A destination with a deep backlog takes no more for now
  // (delivery.max_jobs_per_destination).
  bool full(size_t max_jobs) const { return jobs_.size() >= max_jobs; }
  void add(Job job, int64_t now_ms);
  // Back at the front: a reused connection died before the job was tried.
  void put_back(Job job) { jobs_.push_front(std::move(job)); }
  bool has_jobs() const { return !jobs_.empty(); }
  size_t queued() const { return jobs_.size(); }
  Job take();  // the oldest; has_jobs() must be true
  std::deque<Job> take_all();

  // ---- connections ----
  // The connection limit in force: the shaping rule's (or the default),
  // reduced by back-off.
  unsigned connection_limit(const config::DeliverySection& del) const;
  // The shaping rule's own connection cap (shared by every destination the
  // rule covers), or nullopt.
  std::optional<unsigned> rule_connection_cap(const config::DeliverySection& del) const;
  // How many new connections the queued jobs call for: one per job not
  // already covered by a connection starting up or woken from idle, within
  // `limit` connections in all.
  unsigned connections_wanted(unsigned woken, unsigned limit) const;
  void connection_opening() {
    ++connections_;
    ++starting_;
  }
  void connection_started(bool ready) {
    --starting_;
    if (ready) ++established_;
  }
  // A ready connection stops taking jobs (it says QUIT next).
  void connection_retiring() { --established_; }
  void connection_closed(int64_t now_ms) {
    --connections_;
    last_used_ms_ = now_ms;
  }
  unsigned connections() const { return connections_; }
  unsigned established() const { return established_; }
  Backoff& backoff() { return backoff_; }
  const Backoff& backoff() const { return backoff_; }

  // Connections waiting for a job (delivery.connection_idle_timeout): a new
  // job wakes one by cancelling its timer.
  void park_idle(std::shared_ptr<asio::steady_timer> t) { idle_.push_back(std::move(t)); }
  void unpark_idle(const std::shared_ptr<asio::steady_timer>& t);
  // Wakes up to `n` idle connections; returns how many.
  size_t wake_idle(size_t n);
  // The timer that pumps the destination again when a back-off pause ends.
  std::shared_ptr<asio::steady_timer>& wake_timer() { return wake_; }

  // ---- shaping rule ----
  // The [[delivery.shaping]] rule covering the destination (-1: none),
  // looked up again when the configuration changed.
  int rule() const { return rule_; }
  void refresh_rule(const config::DeliverySection& del, uint64_t generation);
  // A rule may name the MX hosts' provider rather than the domain: tried
  // once the route is known, when the domain matched none.
  void match_rule_by_hosts(const config::DeliverySection& del, const std::vector<std::string>& hosts);
  void forget_rule() { rule_ = -1; }

  // ---- route cache ----
  // The endpoints of the last lookup while fresh, equal-preference hosts
  // reshuffled on every use (RFC 5321 5.1: spread over them per connection,
  // not once per cached answer).
  std::optional<std::vector<Endpoint>> cached_route(int64_t now_ms, std::mt19937& rng) const;
  // `ranks[i]` is endpoints[i]'s MX preference.
  void remember_route(std::vector<Endpoint> endpoints, std::vector<uint32_t> ranks, int64_t now_ms);

  // ---- suspension ----
  // Nobody got through: queued and new jobs are failed with `why` until
  // `until_ms` without trying, and the route is looked up afresh after.
  void suspend(const RcptOutcome& why, int64_t until_ms);
  bool suspended(int64_t now_ms) const { return suspended_until_ms_ > now_ms; }
  const RcptOutcome& suspend_reason() const { return suspend_reason_; }
  // An administrator's retry/flush: try again at once.
  void resume() { suspended_until_ms_ = 0; }
  void reset_backoff() { backoff_ = Backoff{}; }

  // Nothing queued, no connection, unused for kForgetIdleDestination and
  // not suspended: its state is not worth keeping.
  bool forgettable(int64_t now_ms) const;

 private:
  std::string key_;
  std::string domain_;
  std::deque<Job> jobs_;
  unsigned connections_ = 0;  // open or opening
  unsigned starting_ = 0;     // not ready for a job yet
  unsigned established_ = 0;  // ready (may be busy)
  std::vector<std::shared_ptr<asio::steady_timer>> idle_;
  std::shared_ptr<asio::steady_timer> wake_;
  Backoff backoff_;
  int rule_ = -1;
  uint64_t rule_generation_ = 0;
  std::vector<Endpoint> endpoints_;
  std::vector<uint32_t> endpoint_rank_;
  int64_t endpoints_expire_ms_ = 0;
  int64_t suspended_until_ms_ = 0;
  RcptOutcome suspend_reason_;
  int64_t last_used_ms_ = 0;
};

// How long a destination none of whose hosts answers stays suspended: half
// the first retry interval, at most limits::kMaxSuspension.
int64_t suspension_time_ms(const std::vector<std::chrono::milliseconds>& retry_schedule);

class Destinations {
 public:
  using Map = std::unordered_map<std::string, std::shared_ptr<Destination>>;
  // The destination for `key`, made on first use.
  const std::shared_ptr<Destination>& get(const std::string& key, const std::string& domain);
  std::shared_ptr<Destination> find(const std::string& key) const;
  // Drops the forgettable ones; returns how many.
  size_t forget_idle(int64_t now_ms);
  Map::iterator begin() { return map_.begin(); }
  Map::iterator end() { return map_.end(); }
  size_t size() const { return map_.size(); }
  void clear() { map_.clear(); }

 private:
  Map map_;
};

}  // namespace volley::delivery
