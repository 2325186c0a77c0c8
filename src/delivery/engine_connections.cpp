// The engine's outbound connections: how many each destination gets
// (Destination's limits, the shaping rule's shared cap, delivery.max_connections
// in all), and the connection loop that routes, connects and carries one job
// after another until the destination has nothing left or the connection
// its message limit.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <cstdint>

#include "delivery/engine.hpp"
#include "net/asio_compat.hpp"
#include "util/log.hpp"

namespace volley::delivery {
namespace {

constexpr auto kUseTuple = as_tuple(asio::use_awaitable);

}  // namespace

void Engine::fail_queued(Destination& d, const RcptOutcome& why) {
  for (auto& job : d.take_all()) {
    std::vector<RcptOutcome> outs(job.rcpts.size(), why);
    complete_job(job, outs);
  }
  // What waited for the destination is deferred the same way (loaded, it
  // meets the suspension at dispatch) rather than left behind.
  wake_waiting(d.key(), SIZE_MAX);
}

void Engine::pump_destination(const std::shared_ptr<Destination>& dp) {
  Destination& d = *dp;
  if (stopping_ || !d.has_jobs()) return;
  const auto& del = cfg().delivery;
  d.refresh_rule(del, config_generation_);
  const int64_t now = now_ms();
  if (d.suspended(now)) {
    fail_queued(d, d.suspend_reason());
    return;
  }
  // Connections waiting for work take it first.
  const size_t woken = d.wake_idle(d.queued());
  if (d.backoff().paused_until_ms() > now) {
    auto& wake = d.wake_timer();
    if (!wake) wake = std::make_shared<asio::steady_timer>(io_);
    wake->expires_after(std::chrono::milliseconds(d.backoff().paused_until_ms() - now));
    wake->async_wait([this, dp](const asio::error_code& ec) {
      if (!ec) pump_destination(dp);
    });
    return;
  }
  const unsigned wanted = d.connections_wanted(static_cast<unsigned>(woken), d.connection_limit(del));
  const auto rule_cap = d.rule_connection_cap(del);
  for (unsigned i = 0; i < wanted; ++i) {
    if (total_connections_ >= del.max_connections) {
      starved_ = true;
      break;
    }
    if (rule_cap && rules_[static_cast<size_t>(d.rule())].connections >= *rule_cap) break;
    d.connection_opening();
    ++total_connections_;
    if (d.rule() >= 0) ++rules_[static_cast<size_t>(d.rule())].connections;
    asio::co_spawn(io_, run_connection(dp, d.rule(), config_generation_), asio::detached);
  }
}

ClientSettings Engine::client_settings(bool smarthost) const {
  const auto& del = cfg().delivery;
  ClientSettings s;
  s.helo_name = cfg().server.hostname;
  s.tls = parse_tls_policy(del.tls);
  s.connect_timeout = del.connect_timeout;
  s.command_timeout = del.command_timeout;
  s.data_timeout = del.data_timeout;
  if (smarthost) {
    s.auth_user = del.smarthost_user;
    s.auth_password = del.smarthost_password;
  }
  s.tls_context = tls_;
  return s;
}

std::vector<asio::ip::address> Engine::next_sources() {
  const auto& src = cfg().delivery.source_addresses;
  std::vector<asio::ip::address> out;
  if (src.empty()) return out;
  // Rotate: each connection starts from the next address; the client binds
  // the first one of the right family.
  const size_t start = next_source_++ % src.size();
  for (size_t i = 0; i < src.size(); ++i)
    if (auto a = ip_of(src[(start + i) % src.size()])) out.push_back(*a);
  return out;
}

asio::awaitable<bool> Engine::wait_for_job(std::shared_ptr<Destination> dp) {
  // Woken when a job arrives, but another connection of the destination
  // may take it first: keep waiting until the idle time is used up, or the
  // connection would be closed and reopened for every message.
  // delivery.connection_idle_timeout (Postfix: smtp_connection_cache_time_limit).
  const auto deadline = std::chrono::steady_clock::now() + cfg().delivery.connection_idle_timeout;
  while (!dp->has_jobs() && !stopping_ && std::chrono::steady_clock::now() < deadline) {
    auto t = std::make_shared<asio::steady_timer>(io_, deadline);
    dp->park_idle(t);
    co_await t->async_wait(kUseTuple);  // woken (cancelled) or timed out: checked above
    dp->unpark_idle(t);
  }
  co_return dp->has_jobs();
}

asio::awaitable<void> Engine::wait_for_rate(std::shared_ptr<Destination> dp) {
  if (dp->rule() < 0 || static_cast<size_t>(dp->rule()) >= rules_.size()) co_return;
  RateLimiter& rate = rules_[static_cast<size_t>(dp->rule())].rate;
  if (!rate.limited()) co_return;
  const int64_t now = now_ms();
  const int64_t at = rate.reserve(now);
  if (at <= now) co_return;
  asio::steady_timer t(io_, std::chrono::milliseconds(at - now));
  co_await t.async_wait(kUseTuple);
}

asio::awaitable<void> Engine::run_connection(std::shared_ptr<Destination> dp, int rule, uint64_t generation) {
  Destination& d = *dp;
  Route rr = co_await router_->route(d, cfg().delivery);
  SmtpClient client(io_.get_executor(), client_settings(d.is_smarthost()));
  bool ready = false;
  if (!rr.ok) {
    d.connection_started(false);
    fail_queued(d, rr.failure);
  } else {
    ready = co_await client.connect(rr.endpoints, next_sources());
    d.connection_started(ready);
    if (!ready) {
      if (client.throttled()) d.backoff().on_throttle(now_ms());
      if (d.established() == 0 && !stopping_) {
        // Nobody gets through to this destination: everything queued for
        // it is deferred now, and new mail is deferred without trying for
        // a short while (Postfix's "dead destination").
        d.suspend(client.failure(), now_ms() + suspension_time_ms(cfg().queue.retry_schedule));
        fail_queued(d, client.failure());
      }
    }
  }
  if (ready) {
    uint32_t sent = 0;
    const uint32_t max_messages = cfg().delivery.default_max_messages_per_connection;
    while (client.alive() && sent < max_messages && !stopping_) {
      if (!d.has_jobs()) {
        client.mark_idle();
        if (!co_await wait_for_job(dp)) break;
      }
      if (!d.has_jobs() || stopping_) break;
      Job job = d.take();
      // The freed slot goes to the oldest message waiting for it.
      if (d.queued() < cfg().delivery.max_jobs_per_destination) wake_waiting(d.key(), 1);
      co_await wait_for_rate(dp);
      std::vector<RcptOutcome> outs;
      ++in_flight_;
      co_await client.send(*job.active->msg, job.rcpts, outs);
      --in_flight_;
      // A cached connection that died before the server answered anything
      // of this transaction is not a delivery attempt (defect 1e): the job
      // goes back to the front of the queue, unrecorded, for another
      // connection right away. Found closed before sending: always. Lost
      // after the MAIL went out: up to kMaxResendsPerJob times (another
      // cached connection may be closing at that very moment too), so a
      // server that drops every reused transaction is still deferred, not
      // looped. A fresh connection's failure always counts (never "lost
      // before reply").
      if (client.found_stale() || (client.lost_before_reply() && job.resends < limits::kMaxResendsPerJob)) {
        if (!client.found_stale()) ++job.resends;
        log::info("delivery.reconnect")
            .kv("id", job.active->env.id)
            .kv("destination", d.key())
            .kv("relay", client.relay())
            .kv("reason", client.failure().reply);
        d.put_back(std::move(job));
        break;
      }
      ++sent;
      bool any_sent = false;
      for (const auto& o : outs) any_sent = any_sent || o.status == Status::Sent;
      complete_job(job, outs);
      if (client.throttled()) {
        d.backoff().on_throttle(now_ms());
        log::warn("delivery.backoff")
            .kv("destination", d.key())
            .kv("level", d.backoff().level())
            .kv("relay", client.relay());
        break;
      }
      if (any_sent) d.backoff().on_success();
    }
    d.connection_retiring();
    co_await client.quit();
  }
  d.connection_closed(now_ms());
  --total_connections_;
  if (rule >= 0 && generation == config_generation_ && static_cast<size_t>(rule) < rules_.size())
    --rules_[static_cast<size_t>(rule)].connections;
  pump_destination(dp);
  if (starved_) {
    starved_ = false;
    for (auto& [key, other] : destinations_)
      if (other->has_jobs()) pump_destination(other);
  }
}

}  // namespace volley::delivery
