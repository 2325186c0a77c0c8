// The inbound sender-authentication checks of one message (issue 10): SPF
// (RFC 7208) on the MAIL FROM and HELO identities, every DKIM signature
// (RFC 6376, RFC 8463) against its key in DNS, and DMARC (RFC 7489) on the
// From domain, all lookups in parallel through the delivery Resolver within
// one deadline. Returns the Authentication-Results field (RFC 8601), the
// verdict under [inbound] dmarc. (Fields that claim our authserv-id are
// removed by the caller before queueing: remove_authentication_results.)
//
// For the intake, after DATA:
//   in memory:  {client, helo, mail_from, hostname, header_block, message, nullptr}
//   streamed:   DkimMessageStream stream; stream.feed(bytes) as they arrive
//               (or read back from the body file); stream.finish();
//               {client, helo, mail_from, hostname, stream.header_block(), {}, stream.hashes()}
//   SenderAuthOutcome out = co_await check_sender_auth(resolver, cfg.inbound, psl, input, clock);
//   message = out.authentication_results + remove_authentication_results(header_block, ours) + body;
//
// `header_block` must be the header section as received (before our own
// Received: is added: DKIM hashes these bytes). Runs on the resolver's
// io_context thread (the Resolver is not thread-safe).
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "delivery/resolver.hpp"
#include "dmarc/public_suffix.hpp"
#include "inbound/dkim_body_hashes.hpp"
#include "inbound/limits.hpp"
#include "inbound/sender_auth_report.hpp"
#include "net/cidr.hpp"
#include "util/clock.hpp"

namespace volley::inbound {

struct SenderAuthInput {
  net::IpAddress client;
  std::string helo;
  std::string mail_from;    // "" for the null sender (SPF then checks postmaster@HELO)
  std::string authserv_id;  // server.hostname
  // The header section as received, with or without the empty line after it.
  std::string_view header_block;
  // The body's DKIM hashes come from one of these: `body_hashes` (finished;
  // the caller fed it, e.g. while the body streamed to a file), else
  // `message` (the whole message in memory, header block first).
  std::string_view message;
  const DkimBodyHashes* body_hashes = nullptr;
};

struct SenderAuthOptions {
  std::chrono::milliseconds timeout = kSenderAuthTimeout;
  // pct= sampling (RFC 7489 6.6.4): a number in [0, 100); empty = random.
  std::function<unsigned()> sample;
};

struct SenderAuthOutcome {
  // One complete "Authentication-Results: ...\r\n" field, to prepend.
  std::string authentication_results;
  Decision decision;
  SenderAuthResults results;  // what each check found
  std::string log_summary;    // "spf=pass dkim=pass:example.com dmarc=pass verdict=accept"
};

// Never throws for DNS trouble: a lookup that fails or is still unanswered
// at the deadline is a temperror of the check that needed it. The views in
// `input` must stay valid until the coroutine completes.
asio::awaitable<SenderAuthOutcome> check_sender_auth(delivery::Resolver& resolver, const config::InboundSection& cfg,
                                                     const dmarc::PublicSuffixList& psl, SenderAuthInput input,
                                                     const Clock& clock, SenderAuthOptions options = {});

}  // namespace volley::inbound
