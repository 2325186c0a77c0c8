// Asynchronous DNS for outbound delivery and sender authentication: MX,
// A/AAAA, TXT and PTR lookups through
// c-ares, driven by an asio::io_context (c-ares opens the sockets, Asio tells
// it when they are ready, a steady_timer drives its retries).
//
// Lookups go to the DNS only: no resolv.conf search domains, no /etc/hosts,
// no HOSTALIASES. A truncated UDP answer is retried over TCP by c-ares.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "delivery/dns_types.hpp"
#include "delivery/resolver.hpp"
#include "delivery/limits.hpp"
#include "util/result.hpp"

namespace volley::delivery {

class DnsResolver final : public Resolver {
 public:
  // Lookups in flight at once (an address lookup counts once). Beyond it a
  // lookup fails at once with TempFail "resolver busy": a burst of new
  // domains must not grow memory without bound; delivery retries later.
  static constexpr size_t kMaxPending = limits::kMaxDnsLookupsInFlight;

  // server: "" = the system's resolvers (/etc/resolv.conf); "ip", "ip:port"
  // or "[v6]:port" = only that server (port 53 by default). It must be an IP
  // address: we cannot use DNS to find the DNS server.
  // timeout: the most one lookup may take, all retries included. c-ares's
  // per-try timeout and number of tries are derived from it (see .cpp), so a
  // server that never answers gives TempFail "timed out" within `timeout`
  // (plus timer latency).
  static Result<std::unique_ptr<DnsResolver>> create(asio::io_context& io, const std::string& server,
                                                     std::chrono::milliseconds timeout);

  // Cancels the lookups in flight: their callbacks are posted to the
  // io_context with TempFail "cancelled" and run after the resolver is gone
  // (as with a closed Asio socket), so they must not use the resolver. Call
  // on the io_context's thread.
  ~DnsResolver() override;
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Each callback runs exactly once, posted to the io_context (never inside
  // the query_* call itself, never inside c-ares), provided the io_context
  // keeps running; a destroyed io_context destroys pending callbacks
  // uncalled, like any Asio handler. Not thread-safe: call from the
  // io_context's thread only.

  // MX records of `domain`: Ok with the records; NoRecords (the domain has no
  // MX: use the implicit MX); NxDomain; TempFail.
  void query_mx(const std::string& domain, std::function<void(MxAnswer)> done) override;

  // A and AAAA of `host`, asked in parallel. Ok if either has addresses (the
  // other's failure is then only noted in `detail`); otherwise TempFail if
  // either failed temporarily (never bounce on half an answer), else
  // NxDomain if the name does not exist, else NoRecords.
  void query_addresses(const std::string& host, std::function<void(AddressAnswer)> done) override;

  // TXT records of `name`: each record's strings joined; at most
  // limits::kMaxTxtRecords records and kMaxTxtBytes bytes, else TempFail.
  void query_txt(const std::string& name, std::function<void(TxtAnswer)> done) override;

  // PTR records of `reverse_name`: at most limits::kMaxPtrNames names kept.
  void query_ptr(const std::string& reverse_name, std::function<void(PtrAnswer)> done) override;

  // TLSA records of `name` (dns_wire.hpp's parse_tlsa_response), with
  // `secure` from the AD bit.
  void query_tlsa(const std::string& name, std::function<void(TlsaAnswer)> done) override;

  // Lookups whose callbacks have not been posted yet.
  size_t pending() const;

 private:
  class Impl;
  explicit DnsResolver(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;  // shared only so Asio handlers can hold weak references
};

}  // namespace volley::delivery
