// Routing: which way each recipient goes and where a destination's mail is
// sent. split_recipients() decides local / remote and the destination key
// (the recipient's domain, or the smarthost); Router::route() turns a
// destination into the endpoints to try: the smarthost as configured, an
// address literal as written, or the domain's MX hosts (RFC 5321 5.1,
// route_plan.hpp) and their addresses, each with the transport-security
// policy it is held to (DANE, MTA-STS; MX routes only, transport_security.hpp), with the answer cached on the
// Destination for kRouteCacheTime. A failure is an outcome the engine gives
// every queued job: 5.1.10 null MX, 5.1.2 no such domain, 5.4.4 MX hosts
// without addresses, 4.4.3 DNS trouble (never a bounce on a temporary
// error), 4.3.5 a smarthost setting that cannot be used.
//
// DNS goes through the Resolver interface, time through a Clock: the unit
// tests route on a table and made-up time.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <optional>
#include <string_view>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "delivery/destination.hpp"
#include "delivery/mta_sts_source.hpp"
#include "delivery/outcome.hpp"
#include "delivery/recipient_consumer.hpp"
#include "delivery/resolver.hpp"
#include "delivery/smtp_client.hpp"
#include "queue/envelope.hpp"
#include "util/clock.hpp"

namespace volley::delivery {

struct RecipientSplit {
  struct Group {
    std::string key;     // the destination's key: a domain, or kSmarthostKey
    std::string domain;  // what MX lookups and shaping see ("" for the smarthost)
    std::vector<size_t> rcpts;
  };
  std::vector<size_t> consumed;  // recipients the RecipientConsumer takes (never routed)
  std::vector<size_t> local;     // recipients in local_domains
  std::vector<Group> remote;     // in order of first appearance
};

// Recipients still to be tried (pending or deferred) of `env`, by way: those
// `consumer` consumes first (null = none), then local and remote.
RecipientSplit split_recipients(const queue::Envelope& env, const std::vector<std::string>& local_domains,
                                const std::string& smarthost, const RecipientConsumer* consumer = nullptr);

// An IP address written as text ("192.0.2.1", "2001:db8::1"), else nullopt.
std::optional<asio::ip::address> ip_of(std::string_view text);

struct Route {
  bool ok = false;
  std::vector<Endpoint> endpoints;  // ok: in the order to try
  RcptOutcome failure;              // !ok: what every queued job gets
};

class Router {
 public:
  Router(Resolver& resolver, const Clock& clock, uint32_t seed = std::random_device{}())
      : resolver_(resolver), clock_(clock), rng_(seed) {}

  // Runs on the thread of the io_context that the resolver answers on.
  asio::awaitable<Route> route(Destination& d, const config::DeliverySection& del);

  // Where MTA-STS policies come from (delivery.mta_sts); none: no MTA-STS.
  void set_mta_sts(MtaStsSource* source) { mta_sts_ = source; }

 private:
  asio::awaitable<MxAnswer> lookup_mx(const std::string& domain);
  asio::awaitable<AddressAnswer> lookup_addresses(const std::string& host);
  asio::awaitable<TlsaAnswer> lookup_tlsa(const std::string& name);
  asio::awaitable<std::optional<mta_sts::Policy>> lookup_policy(const std::string& domain,
                                                                const config::DeliverySection& del);
  // The policy each MX host gets (RFC 7672 DANE first, then RFC 8461
  // MTA-STS); hosts that may not be used are removed, with why in `refused`.
  asio::awaitable<std::vector<std::shared_ptr<const PeerPolicy>>> host_policies(
      const std::string& domain, bool mx_secure, std::vector<std::string>& hosts, const config::DeliverySection& del,
      std::string& refused, std::unordered_map<std::string, AddressAnswer>& addresses);

  Resolver& resolver_;
  MtaStsSource* mta_sts_ = nullptr;
  const Clock& clock_;
  std::mt19937 rng_;
};

}  // namespace volley::delivery
