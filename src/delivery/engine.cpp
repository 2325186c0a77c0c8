#include "delivery/engine.hpp"

#include <asio/post.hpp>
#include <future>
#include <unordered_set>

#include "delivery/dns_resolver.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::delivery {

Engine::Engine(queue::LogSpool& spool, const config::Config& cfg, const Clock& clock)
    : spool_(spool),
      clock_(clock),
      cfg_(std::make_shared<const config::Config>(cfg)),
      recorder_(spool, clock, [this](std::shared_ptr<const queue::Message> dsn) { submit(std::move(dsn)); }),
      pump_timer_(io_),
      housekeeping_timer_(io_),
      budget_(cfg.delivery.max_active_messages, cfg.delivery.max_active_bytes) {
  rules_.resize(cfg.delivery.shaping.size());
  for (size_t i = 0; i < rules_.size(); ++i)
    rules_[i].rate = RateLimiter(cfg.delivery.shaping[i].rate_count, cfg.delivery.shaping[i].rate_period);
}

Engine::~Engine() { stop(std::chrono::milliseconds(0)); }

namespace {

// The CAs MX certificates are checked against (delivery.ca_file, else the
// system's), and DANE support for TLSA checks.
Result<void> load_trust(asio::ssl::context& ctx, const std::string& ca_file) {
  asio::error_code ec;
  if (ca_file.empty())
    ctx.set_default_verify_paths(ec);
  else
    ctx.load_verify_file(ca_file, ec);
  if (ec) return make_error("delivery.ca_file: cannot load \"" + ca_file + "\": " + ec.message());
  if (SSL_CTX_dane_enable(ctx.native_handle()) <= 0) return make_error("OpenSSL: cannot enable DANE");
  return {};
}

}  // namespace

Result<void> Engine::start() {
  auto resolver = DnsResolver::create(io_, cfg().delivery.resolver, cfg().delivery.dns_timeout);
  if (!resolver) return resolver.error();
  resolver_ = std::move(resolver.value());
  router_ = std::make_unique<Router>(*resolver_, clock_);
  tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  // Opportunistic TLS (RFC 7435): encrypt when we can; a failed certificate
  // check does not end the handshake (it would only push mail back to clear
  // text). The check is still made, against delivery.ca_file or the system
  // store (OpenSSL's default paths honour SSL_CERT_FILE), and DANE is
  // enabled: the SMTP client reads the result and the receiver's policy
  // (MTA-STS, DANE) decides whether it matters.
  tls_->set_verify_mode(asio::ssl::verify_none);
  tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_compression);
  if (auto r = load_trust(*tls_, cfg().delivery.ca_file); !r) return r;
  // Made even while delivery.mta_sts is off, so a reload can turn it on.
  auto cache = mta_sts::PolicyCache::open(cfg().server.data_dir + "/mta-sts");
  if (!cache) return make_error("MTA-STS policy cache: " + cache.error().message);
  mta_sts_ = std::make_unique<MtaStsSource>(*resolver_, clock_, io_.get_executor(), std::move(cache.value()));
  router_->set_mta_sts(mta_sts_.get());
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
      d->take_all();
      d->wake_idle(SIZE_MAX);
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
  router_.reset();
  mta_sts_.reset();  // aborts a policy fetch under way and waits for its thread
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
    for (auto& [k, d] : destinations_) d->forget_rule();
    wake_all_waiting();  // delivery.max_jobs_per_destination may have grown
    pump_scheduler();
  });
}

void Engine::activate(std::shared_ptr<const queue::Message> m, uint64_t charged) {
  auto a = std::make_shared<ActiveMessage>();
  a->env = m->envelope;
  a->msg = std::move(m);
  a->outcomes.assign(a->env.recipients.size(), std::nullopt);
  a->charged = charged;
  active_.emplace(a->env.id, a);
  dispatch(a);
}

void Engine::dispatch(const std::shared_ptr<ActiveMessage>& a) {
  const auto& c = cfg();
  // Held until every job is handed out: a destination that fails its jobs
  // at once must not finish the round while others are still being added.
  ++a->pending_jobs;
  RecipientSplit split = split_recipients(a->env, c.local_domains, c.delivery.smarthost, consumer_);
  if (!split.consumed.empty()) {
    ++a->pending_jobs;
    deliver_consumed(Job{a, std::move(split.consumed)});
  }
  if (!split.local.empty()) {
    ++a->pending_jobs;
    deliver_local(Job{a, std::move(split.local)});
  }
  for (auto& group : split.remote) {
    const std::shared_ptr<Destination>& d = destinations_.get(group.key, group.domain);
    // A destination with a deep backlog takes no more for now: the
    // recipients wait for it (park) without counting a deferral.
    if (d->full(c.delivery.max_jobs_per_destination)) {
      if (a->blocked_on.empty()) a->blocked_on = group.key;
      continue;
    }
    ++a->pending_jobs;
    d->add(Job{a, std::move(group.rcpts)}, now_ms());
    pump_destination(d);
  }
  if (--a->pending_jobs == 0) finish_round(a);
}

void Engine::pump_scheduler() {
  if (stopping_ || !cfg().delivery.enabled) return;
  if (auto p = budget_.unpark_if_fits()) load(p->id, p->bytes);
  std::vector<std::string> ids;
  size_t taken = 0;
  size_t still_waiting = 0;
  while (budget_.has_room() && taken < limits::kPumpBatch) {
    ids.clear();
    if (scheduler_.pop_due(now_ms(), 1, ids) == 0) break;
    const std::string& id = ids.front();
    if (active_.count(id)) continue;
    if (const std::string* key = waiting_.parked_on(id)) {
      // The backstop of a parked id (or an admin retry): while its
      // destination is still full it waits on, without being loaded.
      auto d = destinations_.find(*key);
      if (d && d->full(cfg().delivery.max_jobs_per_destination)) {
        scheduler_.schedule(id, now_ms() + limits::kParkedRecheck.count());
        if (++still_waiting >= limits::kPumpParkedChecks) break;
        continue;
      }
      waiting_.unpark(id);
    }
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
  ++loads_;
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

void Engine::finish_round(const std::shared_ptr<ActiveMessage>& ap) {
  ActiveMessage& a = *ap;
  const auto& c = cfg();
  RoundPolicy policy;
  policy.retry_schedule = c.queue.retry_schedule;
  policy.max_age = c.queue.max_age;
  RoundResult r = recorder_.record(a, policy, c.server.hostname);
  const std::string id = a.env.id;
  if (!r.finished) {
    if (r.only_untried && !a.blocked_on.empty())
      park(id, a.blocked_on);
    else
      scheduler_.schedule(id, r.next_attempt_ms);
  }
  budget_.refund(a.charged);
  active_.erase(id);
  pump_scheduler();
}

void Engine::park(const std::string& id, const std::string& key) {
  auto d = destinations_.find(key);
  if (!d || !d->full(cfg().delivery.max_jobs_per_destination)) {
    scheduler_.schedule(id, now_ms());  // room again already
    return;
  }
  waiting_.park(id, key);
  scheduler_.schedule(id, now_ms() + limits::kParkedRecheck.count());
}

void Engine::wake_waiting(const std::string& key, size_t n) {
  if (stopping_ || n == 0) return;
  // Not in the scheduler: deleted, or loaded already (an admin retry, a
  // backstop) and its round parks or reschedules it again.
  auto ids = waiting_.release(key, n, [this](const std::string& id) { return scheduler_.contains(id); });
  if (ids.empty()) return;
  const int64_t now = now_ms();
  for (const auto& id : ids) scheduler_.schedule(id, now);
  pump_scheduler();
}

void Engine::wake_all_waiting() {
  const size_t max_jobs = cfg().delivery.max_jobs_per_destination;
  for (const auto& key : waiting_.keys()) {
    auto d = destinations_.find(key);
    const size_t queued = d ? d->queued() : 0;
    if (queued < max_jobs) wake_waiting(key, max_jobs - queued);
  }
}

void Engine::housekeeping() {
  if (stopping_) return;
  wake_all_waiting();  // before forgetting destinations: nothing waits on a forgotten one
  // Forget idle destinations (their DNS answers and back-off state) so a
  // campaign to many domains does not keep them all in memory.
  destinations_.forget_idle(now_ms());
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
    for (auto& [k, d] : destinations_) d->resume();
    pump_scheduler();
    return n;
  });
}

Result<size_t> Engine::retry_all() {
  if (!started_) return make_error("delivery is not running");
  return call([this]() -> Result<size_t> {
    size_t n = scheduler_.make_due(now_ms(), [](std::string_view) { return true; });
    for (auto& [k, d] : destinations_) d->resume();
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
    if (auto d = destinations_.find(domain)) {
      d->resume();
      d->reset_backoff();
    }
    pump_scheduler();
    return n;
  });
}

Engine::Stats Engine::stats() {
  return call([this] { return Stats{loads_, scheduler_.size(), waiting_.size(), active_.size()}; });
}

void Engine::forget(const std::string& id) {
  if (!started_) return;
  asio::post(io_, [this, id] {
    scheduler_.remove(id);
    budget_.forget(id);
    waiting_.unpark(id);
  });
}

}  // namespace volley::delivery
