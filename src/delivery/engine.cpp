#include "delivery/engine.hpp"

#include <asio/post.hpp>
#include <cstdio>
#include <future>
#include <unordered_set>

#include "delivery/dns_resolver.hpp"
#include "delivery/dsn_notice.hpp"
#include "delivery/engine_clock.hpp"
#include "delivery/round.hpp"
#include "queue/queue_id.hpp"
#include "delivery/client_content.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::delivery {
namespace {

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? std::string() : to_lower(address.substr(at + 1));
}

std::string seconds_text(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(ms) / 1000.0);
  return buf;
}

}  // namespace

Engine::Engine(queue::LogSpool& spool, const config::Config& cfg)
    : spool_(spool),
      cfg_(std::make_shared<const config::Config>(cfg)),
      pump_timer_(io_),
      housekeeping_timer_(io_),
      budget_(cfg.delivery.max_active_messages, cfg.delivery.max_active_bytes),
      rng_(std::random_device{}()) {
  rules_.resize(cfg.delivery.shaping.size());
  for (size_t i = 0; i < rules_.size(); ++i)
    rules_[i].rate = RateLimiter(cfg.delivery.shaping[i].rate_count, cfg.delivery.shaping[i].rate_period);
}

Engine::~Engine() { stop(std::chrono::milliseconds(0)); }

Result<void> Engine::start() {
  auto resolver = DnsResolver::create(io_, cfg().delivery.resolver, cfg().delivery.dns_timeout);
  if (!resolver) return resolver.error();
  resolver_ = std::move(resolver.value());
  tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  // Opportunistic TLS (RFC 7435): encrypt when we can, do not authenticate
  // the server; a certificate check would only push mail back to clear text.
  tls_->set_verify_mode(asio::ssl::verify_none);
  tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_compression);
  size_t scheduled = 0;
  const int64_t now = now_ms();
  spool_.visit([&](const queue::QueueEntry& e) {
    scheduler_.schedule(e.id, e.next_attempt ? std::max<int64_t>(e.next_attempt * 1000, 0) : now);
    ++scheduled;
  });
  log::info("delivery.started")
      .kv("scheduled", static_cast<uint64_t>(scheduled))
      .kv("enabled", cfg().delivery.enabled)
      .kv("resolver", cfg().delivery.resolver.empty() ? std::string("system") : cfg().delivery.resolver);
  started_ = true;
  asio::post(io_, [this] {
    pump_scheduler();
    housekeeping();
  });
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
  return {};
}

void Engine::stop(std::chrono::milliseconds grace) {
  if (!started_.exchange(false)) return;
  // Stop taking work; wait (bounded) for transactions in flight.
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  asio::post(io_, [this, done] {
    stopping_ = true;
    pump_timer_.cancel();
    // Jobs nobody has started are dropped unrecorded: their messages are
    // still due on disk and go out at the next start.
    for (auto& [key, d] : destinations_) {
      d->jobs.clear();
      for (auto& t : d->idle) t->cancel();
    }
    done->set_value();
  });
  fut.wait();
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    size_t busy = call([this] { return in_flight_; });
    if (busy == 0) break;
    std::this_thread::sleep_for(limits::kStopPoll);
  }
  io_.stop();
  if (thread_.joinable()) thread_.join();
  pool_.join();
  // Destroy I/O objects while the io_context still exists.
  destinations_.clear();
  active_.clear();
  resolver_.reset();
}

template <class F>
auto Engine::call(F fn) -> decltype(fn()) {
  using R = decltype(fn());
  auto p = std::make_shared<std::promise<R>>();
  auto fut = p->get_future();
  asio::post(io_, [p, fn = std::move(fn)]() mutable { p->set_value(fn()); });
  return fut.get();
}

void Engine::submit(std::shared_ptr<const queue::Message> m) {
  if (!started_) return;  // scheduled from disk at next start
  asio::post(io_, [this, m = std::move(m)]() mutable {
    if (stopping_) return;
    const uint64_t bytes = m->content.size();
    // A parked large message goes first (ActiveBudget: no starvation).
    if (!cfg().delivery.enabled || budget_.parked() || !budget_.fits(bytes)) {
      // Later, from disk: the body is not kept.
      scheduler_.schedule(m->envelope.id, now_ms());
      arm_pump_timer();
      return;
    }
    budget_.charge(bytes);
    activate(std::move(m), bytes);
  });
}

void Engine::submit_stored(const std::string& id) {
  if (!started_) return;  // scheduled from disk at next start
  asio::post(io_, [this, id] {
    if (stopping_) return;
    scheduler_.schedule(id, now_ms());
    arm_pump_timer();
  });
}

void Engine::reconfigure(const config::Config& cfg) {
  auto next = std::make_shared<const config::Config>(cfg);
  asio::post(io_, [this, next] {
    cfg_ = next;
    ++config_generation_;
    budget_.set_limits(next->delivery.max_active_messages, next->delivery.max_active_bytes);
    rules_.assign(next->delivery.shaping.size(), RuleState{});
    for (size_t i = 0; i < rules_.size(); ++i)
      rules_[i].rate = RateLimiter(next->delivery.shaping[i].rate_count, next->delivery.shaping[i].rate_period);
    // Connections counted against the old rules finish uncounted.
    for (auto& [k, d] : destinations_) d->rule = -1;
    pump_scheduler();
  });
}

void Engine::activate(std::shared_ptr<const queue::Message> m, uint64_t charged) {
  auto a = std::make_shared<Active>();
  a->env = m->envelope;
  a->msg = std::move(m);
  a->outcomes.assign(a->env.recipients.size(), std::nullopt);
  a->charged = charged;
  active_.emplace(a->env.id, a);
  dispatch(a);
}

void Engine::dispatch(const std::shared_ptr<Active>& a) {
  const auto& c = cfg();
  // Held until every job is handed out: a destination that fails its jobs
  // at once must not finish the round while others are still being added.
  ++a->pending_jobs;
  std::unordered_map<std::string, std::vector<size_t>> remote;
  std::vector<size_t> local;
  for (size_t i = 0; i < a->env.recipients.size(); ++i) {
    const auto& r = a->env.recipients[i];
    if (r.state != queue::RecipientState::Pending && r.state != queue::RecipientState::Deferred) continue;
    std::string domain = domain_of(r.address);
    if (std::find(c.local_domains.begin(), c.local_domains.end(), domain) != c.local_domains.end())
      local.push_back(i);
    else
      remote[c.delivery.smarthost.empty() ? domain : std::string("[smarthost]")].push_back(i);
  }
  if (!local.empty()) {
    ++a->pending_jobs;
    deliver_local(Job{a, std::move(local)});
  }
  for (auto& [key, rcpts] : remote) {
    Destination& d = destination_for(key, key == "[smarthost]" ? std::string() : domain_of(a->env.recipients[rcpts[0]].address));
    // A destination with a deep backlog takes no more for now; the
    // recipients are tried again shortly without counting a deferral.
    if (d.jobs.size() >= c.delivery.max_jobs_per_destination) continue;
    ++a->pending_jobs;
    d.jobs.push_back(Job{a, std::move(rcpts)});
    d.last_used_ms = now_ms();
    pump_destination(destinations_.at(key));
  }
  if (--a->pending_jobs == 0) finish_round(a);
}

void Engine::pump_scheduler() {
  if (stopping_ || !cfg().delivery.enabled) return;
  if (auto p = budget_.unpark_if_fits()) load(p->id, p->bytes);
  std::vector<std::string> ids;
  size_t taken = 0;
  while (budget_.has_room() && taken < limits::kPumpBatch) {
    ids.clear();
    if (scheduler_.pop_due(now_ms(), 1, ids) == 0) break;
    const std::string& id = ids.front();
    if (active_.count(id)) continue;
    // Charged before it is read, so bodies from disk respect the byte cap
    // too (a burst of large stored messages must not all load at once).
    auto bytes = spool_.content_size(id);
    if (!bytes) continue;  // deleted meanwhile
    if (!budget_.fits(*bytes)) {
      budget_.park(id, *bytes);  // waits for room, ahead of everything else
      break;
    }
    load(id, *bytes);
    ++taken;
  }
  // More due but no room: completions pump again; the timer is a backstop.
  arm_pump_timer(!budget_.has_room());
}

void Engine::load(const std::string& id, uint64_t bytes) {
  budget_.charge(bytes);
  asio::post(pool_, [this, id, bytes] {
    auto loaded = spool_.load(id);
    asio::post(io_, [this, bytes, loaded = std::move(loaded)]() mutable {
      // Deleted meanwhile, shutting down, or already being delivered.
      if (!loaded || stopping_ || active_.count(loaded->envelope.id)) return budget_.refund(bytes);
      activate(std::make_shared<const queue::Message>(std::move(*loaded)), bytes);
    });
  });
}

void Engine::arm_pump_timer(bool full) {
  if (stopping_) return;
  auto next = scheduler_.next_due();
  if (!next) return;
  int64_t delay = std::max<int64_t>(0, *next - now_ms());
  // Capped so a full active set is re-checked even without a completion;
  // while full, not sooner than that (completions pump anyway).
  const int64_t recheck = limits::kPumpRecheck.count();
  delay = full ? recheck : std::min<int64_t>(delay, recheck);
  pump_timer_.expires_after(std::chrono::milliseconds(delay));
  pump_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) pump_scheduler();
  });
}

void Engine::complete_job(Job& job, std::vector<RcptOutcome>& outcomes) {
  auto& a = *job.active;
  for (size_t k = 0; k < job.rcpts.size() && k < outcomes.size(); ++k) a.outcomes[job.rcpts[k]] = std::move(outcomes[k]);
  if (--a.pending_jobs == 0) finish_round(job.active);
}

void Engine::finish_round(const std::shared_ptr<Active>& ap) {
  Active& a = *ap;
  const auto& c = cfg();
  const int64_t now = now_ms();
  const uint32_t attempt = a.env.deferrals + 1;
  RoundPolicy policy;
  policy.retry_schedule = c.queue.retry_schedule;
  policy.max_age = c.queue.max_age;
  RoundResult r = apply_round(a.env, a.outcomes, now, policy);
  const std::string delay = seconds_text(now - a.env.received_at * 1000);
  for (size_t i = 0; i < a.outcomes.size(); ++i) {
    const auto& o = a.outcomes[i];
    if (!o) continue;
    auto line = o->status == Status::Sent ? log::info("delivery") : log::warn("delivery");
    line.kv("id", a.env.id)
        .kv("rcpt", a.env.recipients[i].address)
        .kv("relay", o->relay.empty() ? std::string("none") : o->relay)
        .kv("tls", o->tls.empty() ? std::string("none") : o->tls)
        .kv("status", status_name(o->status))
        .kv("attempt", static_cast<uint64_t>(attempt))
        .kv("delay", delay)
        .kv("reply", o->describe());
  }
  if (!r.failed.empty()) queue_dsns(a, r.failed, false);
  if (!r.succeeded.empty()) queue_dsns(a, r.succeeded, true);
  const std::string id = a.env.id;
  if (r.finished) {
    spool_.erase(id, [id](Result<void> cr) {
      if (!cr) log::error("queue.erase_failed").kv("id", id).kv("error", cr.error().message);
    });
  } else {
    if (r.changed)
      spool_.update(a.env, [id](Result<void> cr) {
        if (!cr) log::error("queue.update_failed").kv("id", id).kv("error", cr.error().message);
      });
    scheduler_.schedule(id, r.next_attempt_ms);
  }
  budget_.refund(a.charged);
  active_.erase(id);
  pump_scheduler();
}

void Engine::queue_dsns(const Active& a, const std::vector<size_t>& rcpts, bool success) {
  DsnNotice notice;
  notice.reporting_mta = cfg().server.hostname;
  notice.dsn_id = queue::make_queue_id();
  notice.now_s = now_ms() / 1000;
  std::shared_ptr<const queue::Message> msg = make_dsn_message(a.env, a.msg->content, a.outcomes, rcpts, success, notice);
  bool any_relayed = false;
  for (size_t i : rcpts) any_relayed = any_relayed || (success && a.outcomes[i] && a.outcomes[i]->relayed);
  const std::string action = !success ? "failed" : any_relayed ? "relayed" : "delivered";
  const std::string original = a.env.id;
  const uint64_t count = rcpts.size();
  spool_.commit(msg, [this, msg, action, original, count](Result<void> cr) {
    if (!cr) {
      log::error("dsn.failed").kv("original", original).kv("error", cr.error().message);
      return;
    }
    log::info("dsn.queued").kv("id", msg->envelope.id).kv("original", original).kv("action", action).kv("rcpts", count);
    submit(msg);
  });
}

void Engine::housekeeping() {
  if (stopping_) return;
  // Forget idle destinations (their DNS answers and back-off state) so a
  // campaign to many domains does not keep them all in memory.
  const int64_t now = now_ms();
  for (auto it = destinations_.begin(); it != destinations_.end();) {
    const Destination& d = *it->second;
    if (d.jobs.empty() && d.connections == 0 && now - d.last_used_ms > limits::kForgetIdleDestination.count() &&
        d.suspended_until_ms < now)
      it = destinations_.erase(it);
    else
      ++it;
  }
  housekeeping_timer_.expires_after(limits::kHousekeepingInterval);
  housekeeping_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) housekeeping();
  });
}

Result<size_t> Engine::retry(const std::string& id) {
  if (!started_) return make_error("delivery is not running");
  return call([this, id]() -> Result<size_t> {
    if (active_.count(id)) return size_t{0};  // being delivered right now
    if (budget_.parked() && budget_.parked()->id == id) return size_t{0};  // next to go
    if (!scheduler_.contains(id)) return make_error("no such message " + id);
    size_t n = scheduler_.make_due(now_ms(), [&](std::string_view x) { return x == id; });
    for (auto& [k, d] : destinations_) d->suspended_until_ms = 0;
    pump_scheduler();
    return n;
  });
}

Result<size_t> Engine::retry_all() {
  if (!started_) return make_error("delivery is not running");
  return call([this]() -> Result<size_t> {
    size_t n = scheduler_.make_due(now_ms(), [](std::string_view) { return true; });
    for (auto& [k, d] : destinations_) d->suspended_until_ms = 0;
    pump_scheduler();
    return n;
  });
}

Result<size_t> Engine::flush(const std::string& domain) {
  if (!started_) return make_error("delivery is not running");
  queue::ListFilter f;
  f.domain = to_lower(domain);
  std::unordered_set<std::string> ids;
  for (auto& e : spool_.list(f)) ids.insert(e.id);
  return call([this, ids = std::move(ids), domain = f.domain]() -> Result<size_t> {
    size_t n = scheduler_.make_due(now_ms(), [&](std::string_view x) { return ids.count(std::string(x)) > 0; });
    if (auto it = destinations_.find(domain); it != destinations_.end()) {
      it->second->suspended_until_ms = 0;
      it->second->backoff = Backoff{};
    }
    pump_scheduler();
    return n;
  });
}

void Engine::forget(const std::string& id) {
  if (!started_) return;
  asio::post(io_, [this, id] {
    scheduler_.remove(id);
    budget_.forget(id);
  });
}

}  // namespace volley::delivery
