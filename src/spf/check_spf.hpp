// The SPF check over real DNS: runs an SpfEvaluator against a
// delivery::Resolver (the c-ares DnsResolver, which uses delivery.resolver
// when set) on the caller's io_context, one question at a time, within an
// overall time bound. For the SMTP intake:
//
//   SpfResult r = co_await spf::check_spf(resolver, {client, helo, mail_from, hostname});
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>

#include "delivery/resolver.hpp"
#include "spf/evaluator.hpp"
#include "spf/limits.hpp"

namespace volley::spf {

// Never throws for DNS trouble: a lookup that fails temporarily, or a check
// that runs past `timeout` (all lookups together), is TempError. Runs on
// the resolver's io_context thread (the Resolver is not thread-safe).
asio::awaitable<SpfResult> check_spf(delivery::Resolver& resolver, SpfInputs inputs,
                                     std::chrono::milliseconds timeout = limits::kDefaultCheckTimeout);

// What the evaluator is told for an answer of the resolver (exposed for tests).
DnsReply reply_from(const delivery::MxAnswer& a);
DnsReply reply_from(const delivery::AddressAnswer& a, bool want_v4);
DnsReply reply_from(const delivery::TxtAnswer& a);
DnsReply reply_from(const delivery::PtrAnswer& a);

}  // namespace volley::spf
