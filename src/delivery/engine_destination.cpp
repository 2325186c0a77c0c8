// Per-destination queues and their outbound connections: how many
// connections a destination gets (shaping, back-off, global limit), routing
// (MX or smarthost), and the connection loop that carries many messages.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <climits>
#include <unordered_map>

#include "delivery/dns_resolver.hpp"
#include "delivery/engine.hpp"
#include "delivery/engine_clock.hpp"
#include "delivery/route_plan.hpp"
#include "net/asio_compat.hpp"
#include "util/log.hpp"

namespace volley::delivery {
namespace {

constexpr auto kUseTuple = as_tuple(asio::use_awaitable);
using limits::kMaxAddressesPerHost;
using limits::kMaxEndpoints;

// Turns a callback API (the resolver) into an awaitable. The callback runs
// on the engine's thread already.
template <class T, class Init>
auto callback_awaitable(Init init) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
      [init = std::move(init)](auto handler) mutable {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        init([shared](T v) { std::move(*shared)(std::move(v)); });
      },
      asio::use_awaitable);
}

std::optional<asio::ip::address> ip_of(std::string_view text) {
  asio::error_code ec;
  auto a = asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return a;
}

}  // namespace

Engine::Destination& Engine::destination_for(const std::string& key, const std::string& domain) {
  auto& slot = destinations_[key];
  if (!slot) {
    slot = std::make_shared<Destination>();
    slot->key = key;
    slot->domain = domain;
  }
  return *slot;
}

void Engine::refresh_shaping(Destination& d) {
  if (d.config_generation == config_generation_) return;
  d.config_generation = config_generation_;
  d.rule = find_shaping_rule(cfg().delivery.shaping, d.domain, {});
}

unsigned Engine::connection_limit(const Destination& d) const {
  const auto& del = cfg().delivery;
  unsigned base = del.default_max_connections_per_domain;
  if (d.rule >= 0 && del.shaping[static_cast<size_t>(d.rule)].max_connections)
    base = del.shaping[static_cast<size_t>(d.rule)].max_connections;
  return d.backoff.limit(base);
}

void Engine::fail_queued(Destination& d, const RcptOutcome& why) {
  std::deque<Job> jobs;
  jobs.swap(d.jobs);
  for (auto& job : jobs) {
    std::vector<RcptOutcome> outs(job.rcpts.size(), why);
    complete_job(job, outs);
  }
}

void Engine::pump_destination(const std::shared_ptr<Destination>& dp) {
  Destination& d = *dp;
  if (stopping_ || d.jobs.empty()) return;
  refresh_shaping(d);
  const int64_t now = now_ms();
  if (d.suspended_until_ms > now) {
    fail_queued(d, d.suspend_reason);
    return;
  }
  // Connections waiting for work take it first.
  size_t woken = 0;
  while (woken < d.jobs.size() && !d.idle.empty()) {
    d.idle.back()->cancel();
    d.idle.pop_back();
    ++woken;
  }
  if (d.backoff.paused_until_ms() > now) {
    if (!d.wake) d.wake = std::make_shared<asio::steady_timer>(io_);
    d.wake->expires_after(std::chrono::milliseconds(d.backoff.paused_until_ms() - now));
    d.wake->async_wait([this, dp](const asio::error_code& ec) {
      if (!ec) pump_destination(dp);
    });
    return;
  }
  const auto& del = cfg().delivery;
  const unsigned limit = connection_limit(d);
  const unsigned rule_limit = d.rule >= 0 && del.shaping[static_cast<size_t>(d.rule)].max_connections
                                  ? del.shaping[static_cast<size_t>(d.rule)].max_connections
                                  : UINT_MAX;
  while (d.jobs.size() > d.starting + woken && d.connections < limit) {
    if (total_connections_ >= del.max_connections) {
      starved_ = true;
      break;
    }
    if (d.rule >= 0 && rules_[static_cast<size_t>(d.rule)].connections >= rule_limit) break;
    ++d.connections;
    ++d.starting;
    ++total_connections_;
    if (d.rule >= 0) ++rules_[static_cast<size_t>(d.rule)].connections;
    asio::co_spawn(io_, run_connection(dp, d.rule, config_generation_), asio::detached);
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

asio::awaitable<Engine::RouteResult> Engine::route(std::shared_ptr<Destination> dp) {
  Destination& d = *dp;
  RouteResult rr;
  const int64_t now = now_ms();
  if (!d.endpoints.empty() && now < d.endpoints_expire_ms) {
    rr.ok = true;
    rr.endpoints = d.endpoints;
    // RFC 5321 5.1: spread over equal-preference hosts on every connection,
    // not once per cached answer.
    for (size_t i = 0; i < rr.endpoints.size();) {
      size_t j = i + 1;
      while (j < rr.endpoints.size() && d.endpoint_rank[j] == d.endpoint_rank[i]) ++j;
      std::shuffle(rr.endpoints.begin() + static_cast<std::ptrdiff_t>(i),
                   rr.endpoints.begin() + static_cast<std::ptrdiff_t>(j), rng_);
      i = j;
    }
    co_return rr;
  }
  const auto& del = cfg().delivery;
  uint16_t port = del.mx_port;
  std::string lookup = d.domain;
  std::vector<std::string> hosts;
  std::unordered_map<std::string, uint32_t> rank_of;  // MX host -> preference
  bool implicit = false;
  if (d.key == "[smarthost]") {
    auto hp = parse_host_port(del.smarthost, 25);
    if (!hp) {
      rr.failure = local_outcome(Status::Deferred, "4.3.5", "invalid delivery.smarthost: " + hp.error().message, "");
      co_return rr;
    }
    port = hp->port;
    lookup = hp->host;
    if (!hp->needs_mx_lookup()) hosts.push_back(hp->host);
  } else if (!d.domain.empty() && d.domain.front() == '[' && d.domain.back() == ']') {
    // user@[192.0.2.1]: an address literal, no DNS.
    std::string inner = d.domain.substr(1, d.domain.size() - 2);
    if (inner.rfind("IPv6:", 0) == 0 || inner.rfind("ipv6:", 0) == 0) inner = inner.substr(5);
    hosts.push_back(inner);
  }
  if (hosts.empty()) {
    auto init = [this, lookup](auto cb) { resolver_->query_mx(lookup, std::move(cb)); };
    auto lookup_mx = callback_awaitable<MxAnswer>(std::move(init));
    MxAnswer answer = co_await std::move(lookup_mx);
    RoutePlan plan = plan_routes(answer, lookup, rng_, limits::kMaxMxHosts);
    switch (plan.kind) {
      case RoutePlan::Kind::NullMx:
        rr.failure = local_outcome(Status::Bounced, "5.1.10",
                                   "domain " + lookup + " does not accept mail (null MX, RFC 7505)", "");
        co_return rr;
      case RoutePlan::Kind::NoSuchDomain:
        rr.failure = local_outcome(Status::Bounced, "5.1.2",
                                   "Host or domain name not found: " + lookup + " (" + plan.detail + ")", "");
        co_return rr;
      case RoutePlan::Kind::TempFail:
        rr.failure = local_outcome(Status::Deferred, "4.4.3",
                                   "DNS lookup of MX for " + lookup + " failed: " + plan.detail, "");
        co_return rr;
      case RoutePlan::Kind::Hosts:
        break;
    }
    hosts = std::move(plan.hosts);
    implicit = plan.implicit;
    for (const auto& r : answer.records) {
      auto [it, fresh] = rank_of.emplace(r.host, r.preference);
      if (!fresh) it->second = std::min<uint32_t>(it->second, r.preference);
    }
  }
  bool temporary = false;
  std::string detail;
  std::vector<uint32_t> ranks;
  auto rank = [&](const std::string& h) {
    auto it = rank_of.find(h);
    return it == rank_of.end() ? 0u : static_cast<uint32_t>(it->second);
  };
  for (const auto& h : hosts) {
    if (rr.endpoints.size() >= kMaxEndpoints) break;
    if (auto ip = ip_of(h)) {
      rr.endpoints.push_back(Endpoint{"", *ip, port});
      ranks.push_back(rank(h));
      continue;
    }
    auto init = [this, h](auto cb) { resolver_->query_addresses(h, std::move(cb)); };
    auto lookup_a = callback_awaitable<AddressAnswer>(std::move(init));
    AddressAnswer a = co_await std::move(lookup_a);
    if (a.status == DnsStatus::Ok) {
      size_t n = 0;
      for (const auto& addr : a.addresses) {
        if (n++ >= kMaxAddressesPerHost || rr.endpoints.size() >= kMaxEndpoints) break;
        rr.endpoints.push_back(Endpoint{h, addr, port});
        ranks.push_back(rank(h));
      }
    } else {
      temporary = temporary || a.status == DnsStatus::TempFail;
      detail = h + ": " + a.detail;
    }
  }
  if (rr.endpoints.empty()) {
    if (temporary)
      rr.failure = local_outcome(Status::Deferred, "4.4.3", "DNS lookup of address failed: " + detail, "");
    else
      rr.failure = local_outcome(Status::Bounced, implicit ? "5.1.2" : "5.4.4",
                                 "no address for " + lookup + (implicit ? " (no MX, no A/AAAA)" : " MX hosts") +
                                     (detail.empty() ? std::string() : ": " + detail),
                                 "");
    co_return rr;
  }
  // A [[delivery.shaping]] rule may name the MX hosts' provider rather
  // than the domain.
  if (d.rule < 0) d.rule = find_shaping_rule(del.shaping, d.domain, hosts);
  d.endpoints = rr.endpoints;
  d.endpoint_rank = std::move(ranks);
  d.endpoints_expire_ms = now + limits::kRouteCacheTime.count();
  rr.ok = true;
  co_return rr;
}

asio::awaitable<bool> Engine::wait_for_job(std::shared_ptr<Destination> dp) {
  // Woken when a job arrives, but another connection of the destination
  // may take it first: keep waiting until the idle time is used up, or the
  // connection would be closed and reopened for every message.
  // delivery.connection_idle_timeout (Postfix: smtp_connection_cache_time_limit).
  const auto deadline = std::chrono::steady_clock::now() + cfg().delivery.connection_idle_timeout;
  while (dp->jobs.empty() && !stopping_ && std::chrono::steady_clock::now() < deadline) {
    auto t = std::make_shared<asio::steady_timer>(io_, deadline);
    dp->idle.push_back(t);
    co_await t->async_wait(kUseTuple);  // woken (cancelled) or timed out: checked above
    auto& idle = dp->idle;
    idle.erase(std::remove(idle.begin(), idle.end(), t), idle.end());
  }
  co_return !dp->jobs.empty();
}

asio::awaitable<void> Engine::wait_for_rate(std::shared_ptr<Destination> dp) {
  if (dp->rule < 0 || static_cast<size_t>(dp->rule) >= rules_.size()) co_return;
  RateLimiter& rate = rules_[static_cast<size_t>(dp->rule)].rate;
  if (!rate.limited()) co_return;
  const int64_t now = now_ms();
  const int64_t at = rate.reserve(now);
  if (at <= now) co_return;
  asio::steady_timer t(io_, std::chrono::milliseconds(at - now));
  co_await t.async_wait(kUseTuple);
}

asio::awaitable<void> Engine::run_connection(std::shared_ptr<Destination> dp, int rule, uint64_t generation) {
  Destination& d = *dp;
  const bool smarthost = d.key == "[smarthost]";
  RouteResult rr = co_await route(dp);
  SmtpClient client(io_.get_executor(), client_settings(smarthost));
  bool ready = false;
  if (!rr.ok) {
    --d.starting;
    fail_queued(d, rr.failure);
  } else {
    auto sources = next_sources();
    ready = co_await client.connect(rr.endpoints, std::move(sources));
    --d.starting;
    if (!ready) {
      if (client.throttled()) d.backoff.on_throttle(now_ms());
      if (d.established == 0 && !stopping_) {
        // Nobody gets through to this destination: everything queued for
        // it is deferred now, and new mail is deferred without trying for
        // a short while (Postfix's "dead destination").
        const auto& sched = cfg().queue.retry_schedule;
        const int64_t max_hold = limits::kMaxSuspension.count();
        int64_t hold = sched.empty() ? max_hold : sched.front().count() / 2;
        hold = std::clamp<int64_t>(hold, 0, max_hold);
        d.suspend_reason = client.failure();
        d.suspended_until_ms = now_ms() + hold;
        d.endpoints.clear();  // resolve again next time
        fail_queued(d, client.failure());
      }
    }
  }
  if (ready) {
    ++d.established;
    uint32_t sent = 0;
    const uint32_t max_messages = cfg().delivery.default_max_messages_per_connection;
    while (client.alive() && sent < max_messages && !stopping_) {
      if (d.jobs.empty() && !co_await wait_for_job(dp)) break;
      if (d.jobs.empty() || stopping_) break;
      Job job = std::move(d.jobs.front());
      d.jobs.pop_front();
      co_await wait_for_rate(dp);
      std::vector<RcptOutcome> outs;
      ++in_flight_;
      co_await client.send(*job.active->msg, job.rcpts, outs);
      --in_flight_;
      // A cached connection that died before the server answered anything
      // of this transaction is not a delivery attempt (defect 1e): the job
      // goes back to the front of the queue, unrecorded, for a fresh
      // connection right away. Once per job when something was sent, so a
      // server that drops every transaction is still deferred, not looped.
      if (client.found_stale() || (client.lost_before_reply() && !job.resent)) {
        job.resent = job.resent || !client.found_stale();
        log::info("delivery.reconnect")
            .kv("id", job.active->env.id)
            .kv("destination", d.key)
            .kv("relay", client.relay())
            .kv("reason", client.failure().reply);
        d.jobs.push_front(std::move(job));
        break;
      }
      ++sent;
      bool any_sent = false;
      for (const auto& o : outs) any_sent = any_sent || o.status == Status::Sent;
      complete_job(job, outs);
      if (client.throttled()) {
        d.backoff.on_throttle(now_ms());
        log::warn("delivery.backoff").kv("destination", d.key).kv("level", d.backoff.level()).kv("relay", client.relay());
        break;
      }
      if (any_sent) d.backoff.on_success();
    }
    --d.established;
    co_await client.quit();
  }
  --d.connections;
  --total_connections_;
  if (rule >= 0 && generation == config_generation_ && static_cast<size_t>(rule) < rules_.size())
    --rules_[static_cast<size_t>(rule)].connections;
  d.last_used_ms = now_ms();
  pump_destination(dp);
  if (starved_) {
    starved_ = false;
    for (auto& [key, other] : destinations_)
      if (!other->jobs.empty()) pump_destination(other);
  }
}

}  // namespace volley::delivery
