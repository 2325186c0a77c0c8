// The connection runner's own limits, in one place: each is named, with its
// value and the reason for it. Operator-facing limits (connection counts,
// timeouts, lifetime, listen backlog) come from [limits] in the config; these
// are the ones no operator should need to change.
#pragma once

#include <chrono>
#include <cstddef>

namespace volley::net {

// Plain-text reads land in one buffer per I/O thread of this size: an idle
// connection then owns no read buffer at all, and 64 KiB takes a pipelined
// batch or a large slice of a message in one system call.
inline constexpr size_t kReadChunk = 64 * 1024;

// A TLS connection owns a read buffer of this size once the handshake is done:
// one maximum TLS record (RFC 8446 5.1: 2^14 octets of plaintext).
inline constexpr size_t kTlsReadBuffer = 16 * 1024;

// Time allowed to deliver a final reply (421) or close_notify to a client that
// is being dropped (timeout, shutdown, lifetime): enough for a live client,
// short enough that a dead one cannot hold the slot.
inline constexpr std::chrono::seconds kGoodbyeTimeout{5};

// After accept() fails (out of descriptors or memory), pause this long before
// the next accept instead of spinning on the error.
inline constexpr std::chrono::milliseconds kAcceptFailurePause{100};

// A request under way when the connection's lifetime ends may finish (a large
// message arriving slowly but above the minimum rate), but no longer than
// this: a sender cannot stretch one request forever.
inline constexpr std::chrono::minutes kLifetimeOverrun{5};

// Default listen(2) backlog (limits.listen_backlog): room for a burst of
// connections while the accept loop is busy; the kernel caps it at
// net.core.somaxconn.
inline constexpr int kDefaultListenBacklog = 1024;

}  // namespace volley::net
