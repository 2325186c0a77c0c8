#include "delivery/router.hpp"

#include <asio/async_result.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <optional>
#include <unordered_map>

#include "delivery/limits.hpp"
#include "delivery/route_plan.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::delivery {
namespace {

using limits::kMaxAddressesPerHost;
using limits::kMaxEndpoints;

// Turns a callback API (the resolver) into an awaitable. The callback runs
// on the io_context's thread already.
template <class T, class Init>
auto callback_awaitable(Init init) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
      [init = std::move(init)](auto handler) mutable {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        init([shared](T v) { std::move(*shared)(std::move(v)); });
      },
      asio::use_awaitable);
}

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? std::string() : to_lower(address.substr(at + 1));
}

}  // namespace

std::optional<asio::ip::address> ip_of(std::string_view text) {
  asio::error_code ec;
  auto a = asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return a;
}

RecipientSplit split_recipients(const queue::Envelope& env, const std::vector<std::string>& local_domains,
                                const std::string& smarthost, const RecipientConsumer* consumer) {
  RecipientSplit split;
  std::unordered_map<std::string, size_t> group_of;  // key -> index in split.remote
  for (size_t i = 0; i < env.recipients.size(); ++i) {
    const auto& r = env.recipients[i];
    if (r.state != queue::RecipientState::Pending && r.state != queue::RecipientState::Deferred) continue;
    if (consumer && consumer->consumes(r.address)) {
      split.consumed.push_back(i);
      continue;
    }
    std::string domain = domain_of(r.address);
    if (std::find(local_domains.begin(), local_domains.end(), domain) != local_domains.end()) {
      split.local.push_back(i);
      continue;
    }
    const bool via_smarthost = !smarthost.empty();
    std::string key = via_smarthost ? std::string(kSmarthostKey) : domain;
    auto [it, fresh] = group_of.emplace(key, split.remote.size());
    if (fresh) split.remote.push_back({std::move(key), via_smarthost ? std::string() : std::move(domain), {}});
    split.remote[it->second].rcpts.push_back(i);
  }
  return split;
}

asio::awaitable<MxAnswer> Router::lookup_mx(const std::string& domain) {
  auto init = [this, domain](auto cb) { resolver_.query_mx(domain, std::move(cb)); };
  co_return co_await callback_awaitable<MxAnswer>(std::move(init));
}

asio::awaitable<AddressAnswer> Router::lookup_addresses(const std::string& host) {
  auto init = [this, host](auto cb) { resolver_.query_addresses(host, std::move(cb)); };
  co_return co_await callback_awaitable<AddressAnswer>(std::move(init));
}

asio::awaitable<TlsaAnswer> Router::lookup_tlsa(const std::string& name) {
  auto init = [this, name](auto cb) { resolver_.query_tlsa(name, std::move(cb)); };
  co_return co_await callback_awaitable<TlsaAnswer>(std::move(init));
}

asio::awaitable<std::optional<mta_sts::Policy>> Router::lookup_policy(const std::string& domain,
                                                                      const config::DeliverySection& del) {
  auto init = [this, domain, &del](auto cb) { mta_sts_->policy(domain, del, std::move(cb)); };
  co_return co_await callback_awaitable<std::optional<mta_sts::Policy>>(std::move(init));
}

asio::awaitable<std::vector<std::shared_ptr<const PeerPolicy>>> Router::host_policies(
    const std::string& domain, bool mx_secure, std::vector<std::string>& hosts, const config::DeliverySection& del,
    std::string& refused, std::unordered_map<std::string, AddressAnswer>& addresses) {
  std::optional<mta_sts::Policy> sts;
  if (mta_sts_ && del.mta_sts) sts = co_await lookup_policy(domain, del);
  std::shared_ptr<const PeerPolicy> sts_policy;
  if (sts && sts->mode != mta_sts::Mode::None)
    sts_policy = std::make_shared<const PeerPolicy>(
        PeerPolicy{PolicyKind::MtaSts, sts->mode == mta_sts::Mode::Testing, domain, {}});
  std::vector<std::shared_ptr<const PeerPolicy>> out;
  std::vector<std::string> kept;
  for (const auto& h : hosts) {
    std::shared_ptr<const PeerPolicy> policy;
    // DANE (RFC 7672 2.2): only for MX hosts from a DNSSEC-secure MX RRset
    // whose addresses are secure too (2.2.2: else an attacker who forges the
    // addresses picks the server); the address answer is kept for routing.
    bool addresses_secure = false;
    if (del.dane && mx_secure && !ip_of(h)) {
      AddressAnswer a = co_await lookup_addresses(h);
      addresses_secure = a.secure;
      addresses[h] = std::move(a);
    }
    if (addresses_secure) {
      const std::string name = tlsa_name(h, del.mx_port);
      TlsaAnswer t = co_await lookup_tlsa(name);
      if (t.status == DnsStatus::TempFail) {
        // Bogus (SERVFAIL from a validating resolver) or unreachable: never
        // downgrade to a host without DANE checks (RFC 7672 2.2.1).
        refused += (refused.empty() ? "" : "; ") + std::string("DANE: TLSA lookup of ") + name + " failed: " + t.detail;
        continue;
      }
      if (t.secure && t.status == DnsStatus::Ok) {
        PeerPolicy p{PolicyKind::Dane, false, domain, {}};
        for (auto& r : t.records)
          if (tlsa_usable(r)) p.tlsa.push_back(std::move(r));
        policy = std::make_shared<const PeerPolicy>(std::move(p));
      }
    }
    if (!policy && sts_policy) {
      const Decision dd = decide(sts_policy.get(), h, mta_sts::mx_allowed(*sts, h), TlsOutcome::Verified);
      if (dd.verdict == Verdict::Defer) {
        refused += (refused.empty() ? "" : "; ") + dd.reason;
        continue;
      }
      if (dd.verdict == Verdict::DeliverAndLog) log::warn("mta_sts.testing").kv("domain", domain).kv("would_fail", dd.reason);
      policy = sts_policy;
    }
    kept.push_back(h);
    out.push_back(std::move(policy));
  }
  hosts = std::move(kept);
  co_return out;
}

asio::awaitable<Route> Router::route(Destination& d, const config::DeliverySection& del) {
  Route rr;
  if (auto cached = d.cached_route(clock_.unix_ms(), rng_)) {
    rr.ok = true;
    rr.endpoints = std::move(*cached);
    co_return rr;
  }
  uint16_t port = del.mx_port;
  std::string lookup = d.domain();
  std::vector<std::string> hosts;
  std::unordered_map<std::string, uint32_t> rank_of;  // MX host -> preference
  bool implicit = false;
  bool mx_route = false;
  bool mx_secure = false;
  if (d.is_smarthost()) {
    auto hp = parse_host_port(del.smarthost, 25);
    if (!hp) {
      rr.failure = local_outcome(Status::Deferred, "4.3.5", "invalid delivery.smarthost: " + hp.error().message, "");
      co_return rr;
    }
    port = hp->port;
    lookup = hp->host;
    if (!hp->needs_mx_lookup()) hosts.push_back(hp->host);
  } else if (lookup.size() >= 2 && lookup.front() == '[' && lookup.back() == ']') {
    // user@[192.0.2.1]: an address literal, no DNS.
    std::string inner = lookup.substr(1, lookup.size() - 2);
    if (inner.rfind("IPv6:", 0) == 0 || inner.rfind("ipv6:", 0) == 0) inner = inner.substr(5);
    hosts.push_back(inner);
  }
  if (hosts.empty()) {
    MxAnswer answer = co_await lookup_mx(lookup);
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
    mx_route = !d.is_smarthost();
    mx_secure = answer.secure && answer.status == DnsStatus::Ok;
    for (const auto& r : answer.records) {
      auto [it, fresh] = rank_of.emplace(r.host, r.preference);
      if (!fresh) it->second = std::min<uint32_t>(it->second, r.preference);
    }
  }
  std::vector<std::shared_ptr<const PeerPolicy>> policies(hosts.size());
  std::unordered_map<std::string, AddressAnswer> known_addresses;  // looked up for DANE already
  if (mx_route) {
    std::string refused;
    policies = co_await host_policies(lookup, mx_secure, hosts, del, refused, known_addresses);
    if (hosts.empty()) {
      // Every MX host is ruled out by the receiver's policy: defer, never
      // bounce (the policy or the DNS may be fixed), never downgrade.
      rr.failure = local_outcome(Status::Deferred, "4.7.5", refused, "");
      rr.failure.policy = refused.rfind("DANE", 0) == 0 ? "dane" : "mta-sts";
      co_return rr;
    }
  }
  bool temporary = false;
  std::string detail;
  std::vector<uint32_t> ranks;
  auto rank = [&](const std::string& h) {
    auto it = rank_of.find(h);
    return it == rank_of.end() ? 0u : it->second;
  };
  for (size_t hi = 0; hi < hosts.size(); ++hi) {
    const std::string& h = hosts[hi];
    if (rr.endpoints.size() >= kMaxEndpoints) break;
    if (auto ip = ip_of(h)) {
      rr.endpoints.push_back(Endpoint{"", *ip, port, policies[hi]});
      ranks.push_back(rank(h));
      continue;
    }
    AddressAnswer a;
    if (auto it = known_addresses.find(h); it != known_addresses.end())
      a = std::move(it->second);
    else
      a = co_await lookup_addresses(h);
    if (a.status == DnsStatus::Ok) {
      size_t n = 0;
      for (const auto& addr : a.addresses) {
        if (n++ >= kMaxAddressesPerHost || rr.endpoints.size() >= kMaxEndpoints) break;
        rr.endpoints.push_back(Endpoint{h, addr, port, policies[hi]});
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
  d.match_rule_by_hosts(del, hosts);
  d.remember_route(rr.endpoints, std::move(ranks), clock_.unix_ms());
  rr.ok = true;
  co_return rr;
}

}  // namespace volley::delivery
