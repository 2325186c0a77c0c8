#include "inbound/smtp_connection.hpp"

#include "net/asio_compat.hpp"
#include <asio/use_awaitable.hpp>

#include "inbound/login_check.hpp"
#include "inbound/message_spill.hpp"
#include "net/async_bridge.hpp"
#include "smtp/session.hpp"
#include "util/strings.hpp"

namespace volley::inbound {
namespace {

smtp::SessionSettings session_settings(const config::Listener& l, const Snapshot& snap) {
  smtp::SessionSettings s;
  s.hostname = snap.cfg.server.hostname;
  s.listener_name = l.name;
  s.role = l.role;
  s.tls_mode = l.tls;
  s.require_tls_for_auth = l.require_tls_for_auth;
  s.limits = snap.cfg.limits;
  s.signer = snap.signer.get();
  s.checks = snap.checks.get();
  return s;
}

smtp::ClientInfo client_info(const net::Peer& peer) {
  smtp::ClientInfo c;
  c.ip = peer.ip;
  c.address = peer.address;
  c.port = peer.port;
  return c;
}

// smtp::Session behind net::Session: actions become runner steps; the
// password check and the commit are this adapter's work().
class SmtpConnection final : public net::Session {
 public:
  SmtpConnection(const config::Listener& listener, std::shared_ptr<Intake> intake, std::shared_ptr<const Snapshot> snap,
                 const net::Peer& peer)
      : intake_(std::move(intake)),
        snap_(std::move(snap)),
        session_(session_settings(listener, *snap_), client_info(peer), *snap_->directory),
        spill_(*intake_) {}

  void start() override { session_.start(); }
  void receive(std::string_view bytes) override { session_.receive(bytes); }
  net::Step next() override {
    action_ = session_.next();
    switch (action_) {
      case smtp::Session::Action::Read: return net::Step::Read;
      case smtp::Session::Action::StartTls: return net::Step::StartTls;
      case smtp::Session::Action::Authenticate:
      case smtp::Session::Action::Check:
      case smtp::Session::Action::Commit:
      case smtp::Session::Action::Spill: return net::Step::Work;
      case smtp::Session::Action::Close: break;
    }
    return net::Step::Close;
  }
  std::string take_output() override { return session_.take_output(); }
  std::chrono::milliseconds take_reply_delay() override { return session_.take_reply_delay(); }
  void tls_started(const net::TlsInfo& info) override { session_.tls_started(smtp::TlsInfo{info.version, info.cipher}); }
  asio::awaitable<void> work(asio::any_io_executor ex) override {
    if (action_ == smtp::Session::Action::Authenticate) co_await authenticate(ex);
    if (action_ == smtp::Session::Action::Check) co_await check(ex);
    if (action_ == smtp::Session::Action::Commit) co_await commit(ex);
    if (action_ == smtp::Session::Action::Spill) co_await spill_.carry_out(session_, ex);
  }
  void end(net::Ending why) override {
    switch (why) {
      case net::Ending::Timeout: return session_.timed_out();
      case net::Ending::Shutdown: return session_.shutting_down();
      case net::Ending::Lifetime: return session_.lifetime_ended();
    }
  }
  void connection_lost() override { session_.connection_lost(); }
  bool idle() const override { return session_.idle(); }
  uint64_t progress() const override { return session_.progress(); }
  net::RequestTiming timing() const override {
    const config::Limits& l = snap_->cfg.limits;
    net::RequestTiming t;
    if (session_.reading_content()) {
      // Message content: RFC 5321 4.5.3.2's time between blocks, plus a
      // minimum average rate so a trickling sender cannot hold the slot.
      t.idle = l.data_timeout;
      t.min_rate = l.min_data_rate;
    } else {
      // A whole command line within command_timeout (per request, not per read).
      t.whole = l.command_timeout;
    }
    return t;
  }

 private:
  asio::awaitable<void> authenticate(asio::any_io_executor ex);
  asio::awaitable<void> commit(asio::any_io_executor ex);
  asio::awaitable<void> check(asio::any_io_executor ex);

  std::shared_ptr<Intake> intake_;
  std::shared_ptr<const Snapshot> snap_;
  smtp::Session session_;
  smtp::Session::Action action_ = smtp::Session::Action::Read;
  MessageSpill spill_;  // large messages' content on its way to the spool
};

asio::awaitable<void> SmtpConnection::authenticate(asio::any_io_executor ex) {
  // Named local: see net/async_bridge.hpp.
  auto pending = check_login(snap_, intake_->blocking_pool(), ex, session_.auth_request(), session_.client().ip);
  Result<std::string> verdict = co_await std::move(pending);
  session_.auth_result(verdict);
}

asio::awaitable<void> SmtpConnection::check(asio::any_io_executor) {
  // The snapshot made the session's SenderChecks, so it is the one to run them.
  auto pending = snap_->checks->run(session_.take_check());  // named: see authenticate()
  smtp::SenderVerdict verdict = co_await std::move(pending);
  session_.check_result(verdict);
}

asio::awaitable<void> SmtpConnection::commit(asio::any_io_executor ex) {
  auto message = session_.take_commit();
  auto committed = net::async_commit(intake_->spool(), ex, message);  // named: see authenticate()
  Result<void> result = co_await std::move(committed);
  // Durable now: delivery may start while the client reads its 250.
  if (result) intake_->queued(std::move(message));
  session_.commit_result(result);
}
}  // namespace

SmtpService::SmtpService(config::Listener listener, std::shared_ptr<Intake> intake)
    : listener_(std::move(listener)), intake_(std::move(intake)) {}

std::string SmtpService::refusal(net::Refusal why) const {
  const std::string host = intake_->snapshot()->cfg.server.hostname;
  switch (why) {
    case net::Refusal::PerIp: return "421 4.7.0 " + host + " Too many connections from your address, try again later\r\n";
    case net::Refusal::Total: return "421 4.7.0 " + host + " Too many connections, try again later\r\n";
    case net::Refusal::ShuttingDown: return "421 4.3.2 " + host + " Service shutting down, try again later\r\n";
  }
  return "";
}

net::Opened SmtpService::open(const net::Peer& peer) {
  auto snap = intake_->snapshot();
  net::Opened o;
  o.tls = snap->tls;
  o.io_timeout = snap->cfg.limits.command_timeout;
  o.max_lifetime = snap->cfg.limits.max_connection_lifetime;
  o.session = std::make_unique<SmtpConnection>(listener_, intake_, std::move(snap), peer);
  return o;
}

net::ListenSpec listen_spec(const config::Listener& l, const config::Limits& limits) {
  return net::ListenSpec{l.name, l.address, l.host, l.port, static_cast<int>(limits.listen_backlog)};
}

}  // namespace volley::inbound
