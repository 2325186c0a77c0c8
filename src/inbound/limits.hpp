// The inbound stage's fixed limits, named in one place with their reasons.
// Operator-facing limits are [limits] keys (config/config.hpp, documented in
// docs/configuration.md); the SMTP line limits are protocol constants in
// smtp/session.hpp (kMaxCommandLine, kMaxEnvelopeLine, kMaxAuthLine,
// kMaxReceivedHeaders); the connection runner's own are in
// net/runner_limits.hpp.
#pragma once

#include <cstddef>

namespace volley::inbound {

// Threads that check passwords. yescrypt is slow by design (tens of ms of
// CPU); two threads bound what a flood of AUTH attempts can take from the
// I/O threads while a real user's login still waits at most a hash or two.
inline constexpr size_t kPasswordCheckThreads = 2;

}  // namespace volley::inbound
