#include "inbound/smtp_connection.hpp"

#include "net/asio_compat.hpp"
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <chrono>

#include "net/async_bridge.hpp"
#include "smtp/session.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::inbound {
// Shared daemon state lives in app/ for now (the connection runner will give
// inbound a narrow interface of its own).
using app::DrainTarget;
using app::Runtime;
using app::Snapshot;
namespace {
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = as_tuple(asio::use_awaitable);
// Time allowed to deliver a final 421 or close_notify to a client that is
// being dropped: enough for a live client, short enough for a dead one.
constexpr std::chrono::seconds kGoodbyeTimeout{5};
constexpr size_t kReadChunk = 64 * 1024;

// Reads from plain sockets land here first: an idle connection then holds no
// read buffer of its own (it waits for readability, then reads into this
// per-thread buffer), which is what lets one process hold 10,000s of them.
thread_local std::array<char, kReadChunk> t_read_buffer;

class SmtpConnection final : public DrainTarget, public std::enable_shared_from_this<SmtpConnection> {
 public:
  SmtpConnection(tcp::socket socket, config::Listener listener, std::shared_ptr<Runtime> rt,
                 std::shared_ptr<const Snapshot> snap, net::ConnectionLimiter::Permit permit,
                 smtp::ClientInfo client)
      : socket_(std::move(socket)),
        listener_(std::move(listener)),
        rt_(std::move(rt)),
        snap_(std::move(snap)),
        permit_(std::move(permit)),
        timer_(socket_.get_executor()),
        session_(make_settings(), client, *snap_->directory) {}

  asio::awaitable<void> run();

  void request_drain() override {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->drain_requested_ = true;
      if (self->waiting_idle_) {
        asio::error_code ec;
        self->socket_.cancel(ec);
      }
    });
  }

 private:
  smtp::SessionSettings make_settings() const {
    smtp::SessionSettings s;
    s.hostname = snap_->cfg.server.hostname;
    s.listener_name = listener_.name;
    s.role = listener_.role;
    s.tls_mode = listener_.tls;
    s.require_tls_for_auth = listener_.require_tls_for_auth;
    s.limits = snap_->cfg.limits;
    return s;
  }

  void set_deadline(std::chrono::milliseconds d) {
    deadline_ = Clock::now() + d;
    if (deadline_ < timer_.expiry()) timer_.cancel();
  }
  void clear_deadline() { deadline_ = Clock::time_point::max(); }

  asio::awaitable<void> watchdog();
  asio::awaitable<asio::error_code> read_into_session();
  asio::awaitable<bool> flush();
  asio::awaitable<bool> handshake();
  asio::awaitable<void> authenticate();
  asio::awaitable<void> commit();
  asio::awaitable<void> close();

  tcp::socket socket_;
  config::Listener listener_;
  std::shared_ptr<Runtime> rt_;
  std::shared_ptr<const Snapshot> snap_;
  net::ConnectionLimiter::Permit permit_;
  asio::steady_timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  std::vector<char> tls_buffer_;
  smtp::Session session_;
  bool timed_out_ = false;
  bool drain_requested_ = false;
  bool waiting_idle_ = false;
  bool finished_ = false;
  std::string end_reason_ = "closed";
};

asio::awaitable<void> SmtpConnection::watchdog() {
  auto self = shared_from_this();
  while (!finished_) {
    timer_.expires_at(deadline_);
    co_await timer_.async_wait(kUseTuple);
    if (finished_) break;
    if (Clock::now() >= deadline_) {
      timed_out_ = true;
      clear_deadline();
      asio::error_code ec;
      socket_.cancel(ec);
    }
  }
}

asio::awaitable<asio::error_code> SmtpConnection::read_into_session() {
  if (tls_) {
    auto [ec, n] = co_await tls_->async_read_some(asio::buffer(tls_buffer_), kUseTuple);
    if (n > 0) session_.receive(std::string_view(tls_buffer_.data(), n));
    co_return n > 0 ? asio::error_code() : (ec ? ec : asio::error::eof);
  }
  for (;;) {
    auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, kUseTuple);
    if (ec) co_return ec;
    asio::error_code rec;
    size_t n = socket_.read_some(asio::buffer(t_read_buffer), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) continue;
    if (n > 0) session_.receive(std::string_view(t_read_buffer.data(), n));
    co_return n > 0 ? asio::error_code() : (rec ? rec : asio::error::eof);
  }
}

asio::awaitable<bool> SmtpConnection::flush() {
  std::string out = session_.take_output();
  if (out.empty()) co_return true;
  if (deadline_ == Clock::time_point::max()) set_deadline(snap_->cfg.limits.command_timeout);
  asio::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(out), kUseTuple);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(out), kUseTuple);
  }
  if (ec) end_reason_ = timed_out_ ? "write timeout" : "write error: " + ec.message();
  co_return !ec;
}

asio::awaitable<bool> SmtpConnection::handshake() {
  if (!snap_->tls) {
    end_reason_ = "no TLS context";
    co_return false;
  }
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *snap_->tls);
  set_deadline(snap_->cfg.limits.command_timeout);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kUseTuple);
  if (ec) {
    log::info("smtp.tls_failed").kv("client", session_.client().ip).kv("error", ec.message());
    tls_.reset();
    end_reason_ = "TLS handshake failed";
    co_return false;
  }
  tls_buffer_.resize(16 * 1024);
  SSL* ssl = tls_->native_handle();
  smtp::TlsInfo info{SSL_get_version(ssl), SSL_get_cipher_name(ssl)};
  log::info("smtp.tls").kv("client", session_.client().ip).kv("version", info.version).kv("cipher", info.cipher);
  session_.tls_started(info);
  co_return true;
}

asio::awaitable<void> SmtpConnection::authenticate() {
  clear_deadline();
  // Named locals, not temporaries inside the co_await expression: GCC 12
  // relocates such temporaries into the coroutine frame bytewise, which
  // corrupts objects holding std::string (seen under ASan).
  std::string ip = session_.client().ip;
  auto check = [snap = snap_, creds = session_.auth_request(), ip] { return snap->authenticator->check(creds, ip); };
  auto pending = net::run_blocking(rt_->blocking_pool(), socket_.get_executor(), std::move(check));
  Result<std::string> verdict = co_await std::move(pending);
  if (!verdict) {
    // Slow the guesser down: the delay grows with this address's failures
    // across all its connections.
    auto delay = snap_->authenticator->failure_delay(verdict.error(), ip);
    asio::steady_timer t(socket_.get_executor(), delay);
    if (delay.count() > 0) co_await t.async_wait(kUseTuple);
  }
  session_.auth_result(verdict);
}

asio::awaitable<void> SmtpConnection::commit() {
  clear_deadline();
  auto message = session_.take_commit();
  auto committed = net::async_commit(rt_->spool(), socket_.get_executor(), message);  // named: see authenticate()
  queue::CommitResult result = co_await std::move(committed);
  // Durable now: delivery may start while the client reads its 250.
  if (result.status == queue::CommitStatus::Ok) rt_->queued(std::move(message));
  session_.commit_result(result);
}

asio::awaitable<void> SmtpConnection::close() {
  if (tls_) {
    set_deadline(kGoodbyeTimeout);
    co_await tls_->async_shutdown(kUseTuple);
  }
  asio::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

asio::awaitable<void> SmtpConnection::run() {
  auto self = shared_from_this();
  rt_->register_connection(self);
  asio::co_spawn(socket_.get_executor(), watchdog(), asio::detached);
  const auto started = Clock::now();
  const std::string& ip = session_.client().ip;
  log::info("smtp.connect").kv("client", ip).kv("port", static_cast<uint64_t>(session_.client().port)).kv("listener", listener_.name);

  bool alive = true;
  if (listener_.tls == config::TlsMode::Implicit) alive = co_await handshake();
  if (alive) session_.start();
  uint64_t last_progress = ~0ull;
  while (alive) {
    auto action = session_.next();
    if (session_.has_output() && !co_await flush()) {
      session_.connection_lost();
      break;
    }
    switch (action) {
      case smtp::Session::Action::Close:
        if (end_reason_ == "closed") end_reason_ = "session ended";
        alive = false;
        break;
      case smtp::Session::Action::Read: {
        if ((rt_->draining() || drain_requested_) && session_.idle()) {
          session_.shutting_down();
          end_reason_ = "shutdown";
          set_deadline(kGoodbyeTimeout);
          break;
        }
        if (session_.progress() != last_progress) {
          last_progress = session_.progress();
          set_deadline(session_.timeout());
        }
        waiting_idle_ = session_.idle();
        asio::error_code ec = co_await read_into_session();
        waiting_idle_ = false;
        if (!ec) break;
        if (timed_out_) {
          timed_out_ = false;
          end_reason_ = "timeout";
          set_deadline(kGoodbyeTimeout);
          session_.timed_out();
        } else if (drain_requested_ && ec == asio::error::operation_aborted) {
          end_reason_ = "shutdown";
          set_deadline(kGoodbyeTimeout);
          session_.shutting_down();
        } else {
          end_reason_ = (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) ? "client closed"
                                                                                              : "read error: " + ec.message();
          session_.connection_lost();
          alive = false;
        }
        break;
      }
      case smtp::Session::Action::StartTls:
        alive = co_await handshake();
        break;
      case smtp::Session::Action::Authenticate:
        co_await authenticate();
        break;
      case smtp::Session::Action::Commit:
        co_await commit();
        break;
    }
  }
  co_await close();
  finished_ = true;
  timer_.cancel();
  rt_->unregister_connection(this);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  log::info("smtp.disconnect").kv("client", ip).kv("listener", listener_.name).kv("reason", end_reason_).kv("duration_ms", static_cast<int64_t>(ms));
}
}  // namespace

asio::awaitable<void> run_smtp_connection(asio::ip::tcp::socket socket, config::Listener listener,
                                          std::shared_ptr<Runtime> runtime, net::ConnectionLimiter::Permit permit) {
  asio::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) co_return;
  socket.set_option(tcp::no_delay(true), ec);
  socket.non_blocking(true, ec);
  smtp::ClientInfo client;
  auto addr = remote.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  client.ip = addr.to_string();
  client.port = remote.port();
  if (auto parsed = net::IpAddress::parse(client.ip)) client.address = *parsed;
  auto snap = runtime->snapshot();
  auto conn = std::make_shared<SmtpConnection>(std::move(socket), std::move(listener), runtime, snap, std::move(permit),
                                               std::move(client));
  co_await conn->run();
}

}  // namespace volley::inbound
