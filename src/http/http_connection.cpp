#include "http/http_connection.hpp"

#include <algorithm>

#include "net/async_bridge.hpp"
#include "http/response_writer.hpp"
#include "http/session.hpp"

namespace volley::http {
namespace {

SessionSettings session_settings(const config::Listener& l, const config::Config& cfg, std::function<bool()> draining) {
  SessionSettings s;
  s.listener_name = l.name;
  s.max_body = cfg.api.max_request_size;
  s.rate.count = cfg.api.rate_count;
  s.rate.period = cfg.api.rate_period;
  // The HTTP deadlines are capped by the operator's [limits] (so a test or
  // a careful operator can shorten them), never lengthened by them.
  s.header_timeout = std::min<std::chrono::milliseconds>(kHeaderTimeout, cfg.limits.command_timeout);
  s.keepalive_timeout = std::min<std::chrono::milliseconds>(kKeepAliveTimeout, cfg.limits.command_timeout);
  s.body_idle_timeout = std::min<std::chrono::milliseconds>(kBodyIdleTimeout, cfg.limits.data_timeout);
  s.min_body_rate = cfg.limits.min_data_rate;
  s.draining = std::move(draining);
  return s;
}

class HttpConnection final : public net::Session {
 public:
  HttpConnection(SessionSettings settings, std::shared_ptr<inbound::Intake> intake, std::shared_ptr<const Api> api,
                 const net::Peer& peer)
      : intake_(std::move(intake)), workers_(api ? api->workers : nullptr), session_(std::move(settings), std::move(api), peer) {}

  void start() override {}
  void receive(std::string_view bytes) override { session_.receive(bytes); }
  net::Step next() override {
    action_ = session_.next();
    switch (action_) {
      case http::Session::Action::Read: return net::Step::Read;
      case http::Session::Action::Handle:
      case http::Session::Action::Flush: return net::Step::Work;  // Flush: the runner writes first; work() has nothing to do
      case http::Session::Action::Close: break;
    }
    return net::Step::Close;
  }
  std::string take_output() override { return session_.take_output(); }
  void tls_started(const net::TlsInfo&) override {}
  asio::awaitable<void> work(asio::any_io_executor ex) override {
    if (action_ == http::Session::Action::Handle) co_await handle(ex);
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
  net::RequestTiming timing() const override { return session_.timing(); }

 private:
  asio::awaitable<void> handle(asio::any_io_executor ex) {
    // Handlers touch SQLite and the spool: the disk-work pool, never this
    // thread. The job travels in a shared_ptr (see net/async_bridge.hpp).
    auto job = std::make_shared<Job>(session_.take_job());
    auto run = [job] { return run_job(*job); };
    auto pending = net::run_blocking(workers_ ? *workers_ : intake_->spill_pool(), ex, std::move(run));
    Response response = co_await std::move(pending);
    session_.handled(std::move(response));
  }

  std::shared_ptr<inbound::Intake> intake_;
  std::shared_ptr<asio::thread_pool> workers_;
  http::Session session_;
  http::Session::Action action_ = http::Session::Action::Read;
};

}  // namespace

HttpService::HttpService(config::Listener listener, std::shared_ptr<inbound::Intake> intake,
                         std::shared_ptr<const Api> api, std::function<bool()> draining)
    : listener_(std::move(listener)), intake_(std::move(intake)), api_(std::move(api)), draining_(std::move(draining)) {}

std::string HttpService::refusal(net::Refusal why) const {
  std::string_view message = "too many connections, try again later";
  if (why == net::Refusal::PerIp) message = "too many connections from your address, try again later";
  if (why == net::Refusal::ShuttingDown) message = "the server is shutting down, try again later";
  ResponseMeta meta;
  meta.unix_seconds = system_clock().unix_seconds();
  meta.close = true;
  return write_response(Response::error(503, "unavailable", message), meta);
}

net::Opened HttpService::open(const net::Peer& peer) {
  auto snap = intake_->snapshot();
  net::Opened o;
  o.tls = snap->tls;
  o.io_timeout = snap->cfg.limits.command_timeout;
  o.max_lifetime = snap->cfg.limits.max_connection_lifetime;
  o.session = std::make_unique<HttpConnection>(session_settings(listener_, snap->cfg, draining_), intake_, api_, peer);
  return o;
}

}  // namespace volley::http
