// The inbound stage's fixed limits, named in one place with their reasons.
// Operator-facing limits are [limits] keys (config/config.hpp, documented in
// docs/configuration.md); the SMTP line limits are protocol constants in
// smtp/session.hpp (kMaxCommandLine, kMaxEnvelopeLine, kMaxAuthLine,
// kMaxReceivedHeaders); the connection runner's own are in
// net/runner_limits.hpp.
#pragma once

#include <chrono>
#include <cstddef>

namespace volley::inbound {

// Threads that check passwords. yescrypt is slow by design (tens of ms of
// CPU); two threads bound what a flood of AUTH attempts can take from the
// I/O threads while a real user's login still waits at most a hash or two.
inline constexpr size_t kPasswordCheckThreads = 2;

}  // namespace volley::inbound

// ---- sender authentication (inbound/sender_auth.hpp, issue 10) ----

// All of one message's SPF, DKIM-key and DMARC lookups together (they run
// in parallel). The client waits for our answer to the end of DATA; RFC 5321
// 4.5.3.2.6 gives it 10 minutes, and the SPF check alone is bounded at 20 s
// (spf/limits.hpp), so 20 s overall bounds a hostile zone's cost without
// cutting off a slow but honest one. A lookup still unanswered then is a
// temperror, never a pass.
inline constexpr std::chrono::milliseconds kSenderAuthTimeout{20'000};

// The header section DkimMessageStream keeps (inbound/dkim_body_hashes.hpp)
// while a message streams to its body file. RFC 5322 sets no limit; Postfix
// keeps 100 KB (header_size_limit). 1 MiB holds any real header section,
// DKIM signatures and long Received chains included, while bounding what one
// session holds when the body itself is kept on disk.
inline constexpr size_t kMaxStreamedHeaderBytes = 1024 * 1024;
