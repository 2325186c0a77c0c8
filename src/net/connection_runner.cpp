#include "net/connection_runner.hpp"

#include "net/asio_compat.hpp"
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <array>
#include <chrono>

#include "net/runner_limits.hpp"
#include "util/log.hpp"

namespace volley::net {
namespace {
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
constexpr auto kUseTuple = as_tuple(asio::use_awaitable);

// Reads from plain sockets land here first: an idle connection then holds no
// read buffer of its own (it waits for readability, then reads into this
// per-thread buffer), which is what lets one process hold 10,000s of them.
thread_local std::array<char, kReadChunk> t_read_buffer;

Peer make_peer(const tcp::endpoint& remote) {
  Peer p;
  auto addr = remote.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  p.ip = addr.to_string();
  p.port = remote.port();
  if (auto parsed = IpAddress::parse(p.ip)) p.address = *parsed;
  return p;
}

const char* refusal_reason(Refusal why) {
  switch (why) {
    case Refusal::Total: return "connection limit";
    case Refusal::PerIp: return "per-ip connection limit";
    case Refusal::ShuttingDown: return "shutting down";
  }
  return "?";
}

// Refusing must cost us almost nothing: one non-blocking write of a short
// reply on a fresh socket (the kernel buffer always has room), then close.
void refuse(tcp::socket& socket, const Service& service, Refusal why) {
  asio::error_code ec;
  // An implicit-TLS client cannot read a clear-text reply; just close.
  if (!service.implicit_tls()) {
    std::string text = service.refusal(why);
    socket.non_blocking(true, ec);
    if (!text.empty()) socket.write_some(asio::buffer(text), ec);
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

class Connection final : public Drainable, public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<Service> service, std::shared_ptr<ConnectionTable> table,
             ConnectionLimiter::Permit permit, Peer peer, Opened opened)
      : socket_(std::move(socket)),
        service_(std::move(service)),
        table_(std::move(table)),
        permit_(std::move(permit)),
        peer_(std::move(peer)),
        session_(std::move(opened.session)),
        tls_context_(std::move(opened.tls)),
        io_timeout_(opened.io_timeout),
        max_lifetime_(opened.max_lifetime),
        timer_(socket_.get_executor()) {}

  asio::awaitable<void> run();

  void request_drain() override {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->drain_requested_ = true;
      if (self->waiting_idle_) self->cancel_io();
    });
  }

 private:
  void cancel_io() {
    asio::error_code ec;
    socket_.cancel(ec);
  }
  // The watchdog sleeps until the earliest deadline; a later one is picked up
  // when it wakes, so moving a deadline forward on every read costs no timer
  // operation.
  void set_deadline(TimePoint d) {
    deadline_ = d;
    if (deadline_ < timer_.expiry()) timer_.cancel();
  }
  void clear_deadline() { deadline_ = TimePoint::max(); }
  // The current request's deadline, or the lifetime's end when earlier.
  TimePoint request_deadline() const {
    TimePoint life = lifetime_over_ ? lifetime_end_ + kLifetimeOverrun : lifetime_end_;
    return std::min(request_.deadline(), life);
  }
  void goodbye(net::Ending why, const char* reason) {
    end_reason_ = reason;
    set_deadline(SteadyClock::now() + kGoodbyeTimeout);
    session_->end(why);
  }

  asio::awaitable<void> watchdog();
  asio::awaitable<asio::error_code> read_into_session();
  asio::awaitable<bool> flush();
  asio::awaitable<bool> handshake();
  asio::awaitable<bool> read_step();
  asio::awaitable<void> close();

  tcp::socket socket_;
  std::shared_ptr<Service> service_;
  std::shared_ptr<ConnectionTable> table_;
  ConnectionLimiter::Permit permit_;
  Peer peer_;
  std::unique_ptr<Session> session_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::chrono::milliseconds io_timeout_;
  std::chrono::milliseconds max_lifetime_;
  asio::steady_timer timer_;
  TimePoint deadline_ = TimePoint::max();
  TimePoint lifetime_end_ = TimePoint::max();
  RequestDeadline request_;
  uint64_t request_progress_ = ~0ull;  // session progress when request_ started
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  std::vector<char> tls_buffer_;
  bool timed_out_ = false;      // the watchdog cancelled I/O for a passed deadline
  bool lifetime_over_ = false;  // max_lifetime reached: end at the next request boundary
  bool drain_requested_ = false;
  bool waiting_idle_ = false;
  bool finished_ = false;
  std::string end_reason_ = "closed";
};

asio::awaitable<void> Connection::watchdog() {
  auto self = shared_from_this();
  while (!finished_) {
    timer_.expires_at(deadline_);
    co_await timer_.async_wait(kUseTuple);
    if (finished_) break;
    auto now = SteadyClock::now();
    if (now < deadline_) continue;
    if (!lifetime_over_ && now >= lifetime_end_) {
      // Lifetime: end now if the session is waiting for a new request; else
      // let the request under way finish (bounded by kLifetimeOverrun).
      lifetime_over_ = true;
      if (waiting_idle_) {
        clear_deadline();
        cancel_io();
      } else {
        deadline_ = request_deadline();
      }
      continue;
    }
    timed_out_ = true;
    clear_deadline();
    cancel_io();
  }
}

asio::awaitable<asio::error_code> Connection::read_into_session() {
  size_t n = 0;
  asio::error_code ec;
  if (tls_) {
    std::tie(ec, n) = co_await tls_->async_read_some(asio::buffer(tls_buffer_), kUseTuple);
    if (n > 0) session_->receive(std::string_view(tls_buffer_.data(), n));
  } else {
    for (;;) {
      auto [wec] = co_await socket_.async_wait(tcp::socket::wait_read, kUseTuple);
      if (wec) co_return wec;
      n = socket_.read_some(asio::buffer(t_read_buffer), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
      if (n > 0) session_->receive(std::string_view(t_read_buffer.data(), n));
      break;
    }
  }
  if (n == 0) co_return ec ? ec : asio::error::eof;
  if (request_.tracks_reads()) {
    request_.received(SteadyClock::now(), n);
    set_deadline(request_deadline());
  }
  co_return asio::error_code();
}

asio::awaitable<bool> Connection::flush() {
  std::string out = session_->take_output();
  const std::chrono::milliseconds hold = session_->take_reply_delay();
  if (out.empty()) co_return true;
  if (hold.count() > 0) {
    // The tarpit: the client waits for its reply. Bounded by the protocol
    // (SMTP: error_delay per error, and max_errors ends the connection).
    asio::steady_timer pause(socket_.get_executor(), hold);
    co_await pause.async_wait(kUseTuple);
  }
  if (deadline_ == TimePoint::max()) set_deadline(SteadyClock::now() + io_timeout_);
  asio::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(out), kUseTuple);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(out), kUseTuple);
  }
  if (ec) end_reason_ = timed_out_ ? "write timeout" : "write error: " + ec.message();
  co_return !ec;
}

asio::awaitable<bool> Connection::handshake() {
  if (!tls_context_) {
    end_reason_ = "no TLS context";
    co_return false;
  }
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *tls_context_);
  set_deadline(SteadyClock::now() + io_timeout_);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kUseTuple);
  if (ec) {
    log::info(service_->protocol() + ".tls_failed").kv("client", peer_.ip).kv("error", ec.message());
    tls_.reset();
    end_reason_ = "TLS handshake failed";
    co_return false;
  }
  tls_buffer_.resize(kTlsReadBuffer);
  SSL* ssl = tls_->native_handle();
  TlsInfo info{SSL_get_version(ssl), SSL_get_cipher_name(ssl)};
  log::info(service_->protocol() + ".tls").kv("client", peer_.ip).kv("version", info.version).kv("cipher", info.cipher);
  session_->tls_started(info);
  request_progress_ = ~0ull;  // the first request after the handshake gets a fresh deadline
  co_return true;
}

// Step::Read. Returns false when the connection is gone.
asio::awaitable<bool> Connection::read_step() {
  if ((table_->draining() || drain_requested_) && session_->idle()) {
    goodbye(Ending::Shutdown, "shutdown");
    co_return true;
  }
  const uint64_t progress = session_->progress();
  if (progress != request_progress_) {
    auto now = SteadyClock::now();
    if (now >= lifetime_end_) lifetime_over_ = true;
    // The lifetime ends the session at a request boundary, never inside a
    // request (and never during Step::Work, which has no deadline).
    if (lifetime_over_) {
      goodbye(Ending::Lifetime, "lifetime");
      co_return true;
    }
    request_progress_ = progress;
    request_.start(now, session_->timing());
  } else if (lifetime_over_ && session_->idle()) {
    goodbye(Ending::Lifetime, "lifetime");
    co_return true;
  }
  set_deadline(request_deadline());
  waiting_idle_ = session_->idle();
  asio::error_code ec = co_await read_into_session();
  waiting_idle_ = false;
  if (!ec && !timed_out_) co_return true;
  if (timed_out_) {
    timed_out_ = false;
    goodbye(Ending::Timeout, "timeout");
  } else if (lifetime_over_ && ec == asio::error::operation_aborted) {
    goodbye(Ending::Lifetime, "lifetime");
  } else if (drain_requested_ && ec == asio::error::operation_aborted) {
    goodbye(Ending::Shutdown, "shutdown");
  } else {
    end_reason_ = (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) ? "client closed"
                                                                                        : "read error: " + ec.message();
    session_->connection_lost();
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Connection::close() {
  if (tls_) {
    set_deadline(SteadyClock::now() + kGoodbyeTimeout);
    co_await tls_->async_shutdown(kUseTuple);
  }
  asio::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

asio::awaitable<void> Connection::run() {
  auto self = shared_from_this();
  table_->add(self);
  const auto started = SteadyClock::now();
  if (max_lifetime_.count() > 0) lifetime_end_ = started + max_lifetime_;
  asio::co_spawn(socket_.get_executor(), watchdog(), asio::detached);
  log::info(service_->protocol() + ".connect")
      .kv("client", peer_.ip)
      .kv("port", static_cast<uint64_t>(peer_.port))
      .kv("listener", service_->listener());

  bool alive = true;
  if (service_->implicit_tls()) alive = co_await handshake();
  if (alive) session_->start();
  while (alive) {
    Step step = session_->next();
    if (!co_await flush()) {
      session_->connection_lost();
      break;
    }
    switch (step) {
      case Step::Close:
        if (end_reason_ == "closed") end_reason_ = "session ended";
        alive = false;
        break;
      case Step::Read:
        alive = co_await read_step();
        break;
      case Step::StartTls:
        alive = co_await handshake();
        break;
      case Step::Work: {
        clear_deadline();
        // Named locals, not temporaries inside the co_await expression: see
        // net/async_bridge.hpp (GCC 12 relocates such temporaries bytewise).
        asio::any_io_executor ex = socket_.get_executor();
        auto work = session_->work(ex);
        co_await std::move(work);
        break;
      }
    }
  }
  co_await close();
  finished_ = true;
  timer_.cancel();
  table_->remove(this);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started).count();
  log::info(service_->protocol() + ".disconnect")
      .kv("client", peer_.ip)
      .kv("listener", service_->listener())
      .kv("reason", end_reason_)
      .kv("duration_ms", static_cast<int64_t>(ms));
}

asio::awaitable<void> run_connection(tcp::socket socket, std::shared_ptr<Service> service,
                                     std::shared_ptr<ConnectionTable> table, ConnectionLimiter::Permit permit,
                                     Peer peer) {
  asio::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  socket.non_blocking(true, ec);
  Opened opened = service->open(peer);
  auto conn = std::make_shared<Connection>(std::move(socket), std::move(service), std::move(table), std::move(permit),
                                           std::move(peer), std::move(opened));
  co_await conn->run();
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

Result<std::unique_ptr<tcp::acceptor>> open_acceptor(asio::io_context& ctx, const ListenSpec& spec) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(spec.host, ec);
  if (ec) return make_error("listener " + spec.name + ": bad address " + spec.host);
  tcp::endpoint ep(addr, spec.port);
  auto a = std::make_unique<tcp::acceptor>(ctx);
  a->open(ep.protocol(), ec);
  if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && addr.is_v6()) a->set_option(asio::ip::v6_only(true), ec);
  if (!ec) a->bind(ep, ec);
  if (!ec) a->listen(spec.backlog > 0 ? spec.backlog : kDefaultListenBacklog, ec);
  if (ec) return make_error("listener " + spec.name + ": cannot listen on " + spec.address + ": " + ec.message());
  return a;
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::shared_ptr<Service> service,
                                  std::shared_ptr<ConnectionTable> table, IoContexts& contexts) {
  const std::string refused_event = service->protocol() + ".refused";
  for (;;) {
    auto& ctx = contexts.next();
    auto [ec, accepted] = co_await acceptor.async_accept(ctx, kUseTuple);
    tcp::socket socket(std::move(accepted));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      log::warn("listener.accept_failed").kv("listener", service->listener()).kv("error", ec.message());
      asio::steady_timer t(acceptor.get_executor(), kAcceptFailurePause);
      co_await t.async_wait(kUseTuple);
      continue;
    }
    asio::error_code rec;
    auto remote = socket.remote_endpoint(rec);
    if (rec) continue;
    Peer peer = make_peer(remote);
    auto why = ConnectionLimiter::Refusal::None;
    auto permit = table->limiter().try_acquire(peer.ip, &why);
    if (!permit || table->draining()) {
      Refusal refusal = table->draining()                           ? Refusal::ShuttingDown
                        : why == ConnectionLimiter::Refusal::PerIp ? Refusal::PerIp
                                                                    : Refusal::Total;
      log::warn(refused_event).kv("client", peer.ip).kv("listener", service->listener()).kv("reason", refusal_reason(refusal));
      refuse(socket, *service, refusal);
      continue;
    }
    asio::co_spawn(ctx, run_connection(std::move(socket), service, table, std::move(permit), std::move(peer)),
                   log_exception);
  }
}

}  // namespace volley::net
