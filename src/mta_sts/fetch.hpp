// Fetching an MTA-STS policy (RFC 8461 3.3): HTTPS GET of
// https://mta-sts.<domain>/.well-known/mta-sts.txt with the certificate
// validated against the system's CAs for that name, no redirects, a
// 2xx status, a bounded body and a bounded time. Through libcurl (a
// well-kept HTTP/TLS client; a hand-written HTTP parser would be more
// attack surface for no gain). Blocking: run it on a blocking pool.
//
// Name resolution is the caller's (delivery.resolver, via c-ares): the
// addresses are pinned for the connection, so libcurl never asks the
// system resolver.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace volley::mta_sts {

struct FetchOptions {
  std::vector<std::string> addresses;  // IPs of mta-sts.<domain>, in order to try
  uint16_t port = 443;                 // 443 in production; tests use a loopback port
  std::chrono::milliseconds timeout{60000};  // the whole request (RFC 8461 3.3 suggests a minute)
  std::string ca_file;                 // "" = $SSL_CERT_FILE when set, else the system's CA store
  const std::atomic<bool>* cancel = nullptr;  // set: give up at once (the server is stopping)
};

// The policy text, or an Error saying why not (temporary for network
// trouble, Invalid for a bad status, certificate or oversized body).
Result<std::string> fetch_policy(const std::string& policy_domain, const FetchOptions& options);

// "mta-sts.<domain>", the host whose certificate must match.
std::string policy_host(const std::string& policy_domain);

}  // namespace volley::mta_sts
