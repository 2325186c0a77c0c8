// The thin I/O loop around smtp::Session: reads bytes into it, writes its
// replies, and carries out its actions (TLS handshake, password check off the
// I/O thread with the failure delay, spool commit). One coroutine per
// connection on one io_context thread; a watchdog enforces the per-request
// deadline by cancelling the socket.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <memory>

#include "app/runtime.hpp"
#include "config/config.hpp"
#include "net/connection_limiter.hpp"

namespace volley::inbound {
// Shared daemon state lives in app/ for now (the connection runner will give
// inbound a narrow interface of its own).
using app::DrainTarget;
using app::Runtime;
using app::Snapshot;

asio::awaitable<void> run_smtp_connection(asio::ip::tcp::socket socket, config::Listener listener,
                                          std::shared_ptr<Runtime> runtime, net::ConnectionLimiter::Permit permit);

}  // namespace volley::inbound
