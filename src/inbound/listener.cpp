#include "inbound/listener.hpp"

#include "net/asio_compat.hpp"
#include <asio/co_spawn.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "inbound/smtp_connection.hpp"
#include "util/log.hpp"

namespace volley::inbound {
// Shared daemon state lives in app/ for now (the connection runner will give
// inbound a narrow interface of its own).
using app::DrainTarget;
using app::Runtime;
using app::Snapshot;
namespace {
using asio::ip::tcp;

// Refusing must cost us almost nothing: one non-blocking write of a short
// reply on a fresh socket (the kernel buffer always has room), then close.
void refuse(tcp::socket& socket, const config::Listener& l, const std::string& hostname,
            net::ConnectionLimiter::Refusal why) {
  asio::error_code ec;
  // An implicit-TLS client cannot read a clear-text reply; just close.
  if (l.tls != config::TlsMode::Implicit) {
    std::string text = why == net::ConnectionLimiter::Refusal::PerIp
                           ? "421 4.7.0 " + hostname + " Too many connections from your address, try again later\r\n"
                           : "421 4.7.0 " + hostname + " Too many connections, try again later\r\n";
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(text), ec);
  }
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error("bug.exception").kv("what", ex.what());
  } catch (...) {
    log::error("bug.exception").kv("what", "unknown");
  }
}
}  // namespace

IoContexts::IoContexts(unsigned n) {
  for (unsigned i = 0; i < (n == 0 ? 1 : n); ++i) contexts_.push_back(std::make_unique<asio::io_context>(1));
}

asio::io_context& IoContexts::next() {
  auto& c = *contexts_[next_];
  next_ = (next_ + 1) % contexts_.size();
  return c;
}

Result<std::unique_ptr<tcp::acceptor>> open_acceptor(asio::io_context& ctx, const config::Listener& l) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(l.host, ec);
  if (ec) return make_error("listener " + l.name + ": bad address " + l.host);
  tcp::endpoint ep(addr, l.port);
  auto a = std::make_unique<tcp::acceptor>(ctx);
  a->open(ep.protocol(), ec);
  if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && addr.is_v6()) a->set_option(asio::ip::v6_only(true), ec);
  if (!ec) a->bind(ep, ec);
  if (!ec) a->listen(1024, ec);
  if (ec) return make_error("listener " + l.name + ": cannot listen on " + l.address + ": " + ec.message());
  return a;
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, config::Listener listener, std::shared_ptr<Runtime> rt,
                                  IoContexts& contexts) {
  for (;;) {
    auto& ctx = contexts.next();
    auto [ec, accepted] = co_await acceptor.async_accept(ctx, as_tuple(asio::use_awaitable));
    tcp::socket socket(std::move(accepted));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      log::warn("listener.accept_failed").kv("listener", listener.name).kv("error", ec.message());
      // Out of descriptors or memory: pause rather than spin.
      asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await t.async_wait(as_tuple(asio::use_awaitable));
      continue;
    }
    asio::error_code rec;
    auto remote = socket.remote_endpoint(rec);
    if (rec) continue;
    auto addr = remote.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    std::string ip = addr.to_string();
    auto why = net::ConnectionLimiter::Refusal::None;
    auto permit = rt->limiter().try_acquire(ip, &why);
    if (!permit || rt->draining()) {
      log::warn("smtp.refused")
          .kv("client", ip)
          .kv("listener", listener.name)
          .kv("reason", rt->draining() ? "shutting down"
                        : why == net::ConnectionLimiter::Refusal::PerIp ? "per-ip connection limit"
                                                                        : "connection limit");
      refuse(socket, listener, rt->snapshot()->cfg.server.hostname, why);
      continue;
    }
    asio::co_spawn(ctx, run_smtp_connection(std::move(socket), listener, rt, std::move(permit)), log_exception);
  }
}

}  // namespace volley::inbound
