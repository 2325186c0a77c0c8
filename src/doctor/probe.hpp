// `volley doctor`'s I/O: asks the Resolver (delivery.resolver or the
// system's) and the MTA-STS policy server what receivers will ask, each
// lookup bounded by delivery.dns_timeout and the whole run by a total
// deadline, and hands the answers to the verdicts of checks.hpp.
//
//   Report r = co_await doctor::probe(resolver, options, psl, fetch_policy);
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "delivery/resolver.hpp"
#include "dmarc/public_suffix.hpp"
#include "doctor/checks.hpp"
#include "doctor/limits.hpp"
#include "doctor/rules.hpp"
#include "mta_sts/fetch.hpp"

namespace volley::doctor {

struct ProbeOptions {
  std::string domain;    // lowercased, no trailing dot
  std::string hostname;  // server.hostname (the EHLO name)
  // The sending addresses; empty with `addresses_unknown` saying why.
  std::vector<std::string> addresses;
  std::string addresses_unknown;
  // The [[dkim]] entries that sign for the domain (inbound::closest_signing_domain), keys loaded.
  std::vector<DkimExpectation> dkim;
  std::string delivery_tls = "opportunistic";
  std::chrono::milliseconds dns_timeout{5000};
  std::chrono::milliseconds total_timeout = limits::kDefaultTotalTimeout;
  mta_sts::FetchOptions policy_fetch;  // port, ca_file, timeout; addresses filled in by the probe
};

// Fetches the MTA-STS policy text (mta_sts::fetch_policy; a fake in tests).
using PolicyFetcher = std::function<Result<std::string>(const std::string& domain, const mta_sts::FetchOptions&)>;

// Runs every check on the resolver's io_context. Never throws for DNS or
// network trouble: each becomes a FAIL line.
asio::awaitable<Report> probe(delivery::Resolver& resolver, const ProbeOptions& options,
                              const dmarc::PublicSuffixList& psl, PolicyFetcher fetch);

}  // namespace volley::doctor
