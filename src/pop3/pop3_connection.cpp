#include "pop3/pop3_connection.hpp"

#include "net/asio_compat.hpp"
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "inbound/login_check.hpp"
#include "net/async_bridge.hpp"
#include "pop3/session.hpp"

namespace volley::pop3 {
namespace {

SessionSettings session_settings(const config::Listener& l, const inbound::Snapshot& snap) {
  SessionSettings s;
  s.hostname = snap.cfg.server.hostname;
  s.listener_name = l.name;
  s.tls_mode = l.tls;
  s.require_tls_for_auth = l.require_tls_for_auth;
  s.max_auth_failures = snap.cfg.limits.max_auth_failures;
  return s;
}

class Pop3Connection final : public net::Session {
 public:
  Pop3Connection(const config::Listener& listener, std::shared_ptr<inbound::Intake> intake,
                 std::shared_ptr<const inbound::Snapshot> snap, std::shared_ptr<MaildropOpener> opener,
                 const net::Peer& peer)
      : intake_(std::move(intake)),
        snap_(std::move(snap)),
        opener_(std::move(opener)),
        session_(session_settings(listener, *snap_), peer.ip) {}

  ~Pop3Connection() override {
    // Releasing the maildrop removes its lock file: disk work, so not here
    // on the I/O thread.
    release(session_.release_maildrop());
  }

  void start() override { session_.start(); }
  void receive(std::string_view bytes) override { session_.receive(bytes); }
  net::Step next() override {
    action_ = session_.next();
    switch (action_) {
      case pop3::Session::Action::Read: return net::Step::Read;
      case pop3::Session::Action::StartTls: return net::Step::StartTls;
      case pop3::Session::Action::Authenticate:
      case pop3::Session::Action::Open:
      case pop3::Session::Action::Fetch:
      case pop3::Session::Action::Commit:
      case pop3::Session::Action::Flush: return net::Step::Work;  // Flush: the runner writes first; work() has nothing to do
      case pop3::Session::Action::Close: break;
    }
    return net::Step::Close;
  }
  std::string take_output() override { return session_.take_output(); }
  void tls_started(const net::TlsInfo&) override { session_.tls_started(); }
  asio::awaitable<void> work(asio::any_io_executor ex) override {
    if (action_ == pop3::Session::Action::Authenticate) co_await authenticate(ex);
    if (action_ == pop3::Session::Action::Open) co_await open_maildrop(ex);
    if (action_ == pop3::Session::Action::Fetch) co_await fetch(ex);
    if (action_ == pop3::Session::Action::Commit) co_await commit(ex);
  }
  void end(net::Ending why) override {
    switch (why) {
      case net::Ending::Timeout: return session_.timed_out();
      case net::Ending::Shutdown: return session_.shutting_down();
      case net::Ending::Lifetime: return session_.lifetime_ended();
    }
  }
  void connection_lost() override {
    session_.connection_lost();
    release(session_.release_maildrop());
  }
  bool idle() const override { return session_.idle(); }
  uint64_t progress() const override { return session_.progress(); }
  net::RequestTiming timing() const override {
    // A whole command line within command_timeout, however it trickles in
    // (RFC 1939 3's autologout timer is at least 10 minutes for an idle
    // client; limits.command_timeout is the operator's choice).
    net::RequestTiming t;
    t.whole = snap_->cfg.limits.command_timeout;
    return t;
  }

 private:
  asio::awaitable<void> authenticate(asio::any_io_executor ex);
  asio::awaitable<void> open_maildrop(asio::any_io_executor ex);
  asio::awaitable<void> fetch(asio::any_io_executor ex);
  asio::awaitable<void> commit(asio::any_io_executor ex);
  void release(std::unique_ptr<Maildrop> maildrop) {
    if (!maildrop) return;
    std::shared_ptr<Maildrop> held(std::move(maildrop));
    asio::post(intake_->spill_pool(), [held]() mutable { held.reset(); });
  }

  std::shared_ptr<inbound::Intake> intake_;
  std::shared_ptr<const inbound::Snapshot> snap_;
  std::shared_ptr<MaildropOpener> opener_;
  pop3::Session session_;
  pop3::Session::Action action_ = pop3::Session::Action::Read;
};

asio::awaitable<void> Pop3Connection::authenticate(asio::any_io_executor ex) {
  // The same check and growing per-address delay as SMTP AUTH (one
  // AuthThrottle for all protocols). Named local: see net/async_bridge.hpp.
  auto pending = inbound::check_login(snap_, intake_->blocking_pool(), ex, session_.auth_request(), session_.client_ip());
  Result<std::string> verdict = co_await std::move(pending);
  session_.auth_result(verdict);
}

asio::awaitable<void> Pop3Connection::open_maildrop(asio::any_io_executor ex) {
  std::string user = session_.login_user();
  auto open = [opener = opener_, user] { return opener->open(user); };
  auto pending = net::run_blocking(intake_->spill_pool(), ex, std::move(open));
  Result<std::unique_ptr<Maildrop>> opened = co_await std::move(pending);
  session_.open_result(std::move(opened));
}

asio::awaitable<void> Pop3Connection::fetch(asio::any_io_executor ex) {
  // The job travels to the pool and back in a shared_ptr (run_blocking's
  // result must be copyable into the handler's post).
  auto job = std::make_shared<FetchJob>(session_.take_fetch());
  auto read = [job] {
    run_fetch(*job);
    return job;
  };
  auto pending = net::run_blocking(intake_->spill_pool(), ex, std::move(read));
  std::shared_ptr<FetchJob> done = co_await std::move(pending);
  session_.fetch_result(std::move(*done));
}

asio::awaitable<void> Pop3Connection::commit(asio::any_io_executor ex) {
  auto job = std::make_shared<pop3::Session::CommitJob>(session_.take_commit());
  auto apply = [job] { return run_commit(*job); };
  auto pending = net::run_blocking(intake_->spill_pool(), ex, std::move(apply));
  Result<void> result = co_await std::move(pending);
  session_.commit_result(result);
}

}  // namespace

Pop3Service::Pop3Service(config::Listener listener, std::shared_ptr<inbound::Intake> intake,
                         std::shared_ptr<MaildropOpener> opener)
    : listener_(std::move(listener)), intake_(std::move(intake)), opener_(std::move(opener)) {}

std::string Pop3Service::refusal(net::Refusal why) const {
  switch (why) {
    case net::Refusal::PerIp: return "-ERR [SYS/TEMP] Too many connections from your address, try again later.\r\n";
    case net::Refusal::Total: return "-ERR [SYS/TEMP] Too many connections, try again later.\r\n";
    case net::Refusal::ShuttingDown: return "-ERR [SYS/TEMP] Server shutting down, try again later.\r\n";
  }
  return "";
}

net::Opened Pop3Service::open(const net::Peer& peer) {
  auto snap = intake_->snapshot();
  net::Opened o;
  o.tls = snap->tls;
  o.io_timeout = snap->cfg.limits.command_timeout;
  o.max_lifetime = snap->cfg.limits.max_connection_lifetime;
  o.session = std::make_unique<Pop3Connection>(listener_, intake_, std::move(snap), opener_, peer);
  return o;
}

}  // namespace volley::pop3
