#include "http/session.hpp"

#include "http/response_writer.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::http {

namespace {
// "-" for a request that never had a path (logs). Built piecewise: GCC 12 at
// -O3 warns falsely (-Wrestrict) on `str = "-"` here, which breaks a
// packager's -Werror build.
void set_placeholder(std::string& s) {
  s.clear();
  s.push_back('-');
}
}  // namespace
namespace {

// Consumed input is dropped from the front of the buffer once this much of
// it has piled up (or at once when all of it is consumed).
constexpr size_t kCompactAt = 64 * 1024;

// Splits the target into path and query. Origin form ("/a/b?x") as clients
// send it; absolute form ("http://host/a/b?x", RFC 9112 3.2.2) is accepted
// as servers must. Anything else (authority or asterisk form) is refused.
bool split_target(Request& r) {
  std::string_view t = r.target;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!istarts_with(t, scheme)) continue;
    t.remove_prefix(scheme.size());
    const size_t slash = t.find('/');
    t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
    break;
  }
  if (t.empty() || t.front() != '/') return false;
  const size_t q = t.find('?');
  r.path = std::string(t.substr(0, q));
  r.query = q == std::string_view::npos ? std::string() : std::string(t.substr(q + 1));
  return true;
}

}  // namespace

const char* phase_name(Session::Phase p) {
  switch (p) {
    case Session::Phase::Idle: return "idle";
    case Session::Phase::Head: return "head";
    case Session::Phase::Body: return "body";
    case Session::Phase::Handling: return "handling";
    case Session::Phase::Closing: return "closing";
  }
  return "?";
}

Response run_job(const Job& job) {
  try {
    return job.route->handler(job.request, job.caller, job.params);
  } catch (const std::exception& e) {
    log::error("http.handler_failed").kv("method", job.request.method).kv("path", printable(job.request.path)).kv("error", e.what());
  } catch (...) {
    log::error("http.handler_failed").kv("method", job.request.method).kv("path", printable(job.request.path)).kv("error", "unknown");
  }
  return Response::error(500, "internal", "internal error");
}

Session::Session(SessionSettings settings, std::shared_ptr<const Api> api, net::Peer peer, const Clock& clock)
    : settings_(std::move(settings)), api_(std::move(api)), peer_(std::move(peer)), clock_(clock) {}

void Session::enter_phase(Phase p) {
  if (p == phase_) return;
  // Each of these starts a new deadline (the runner watches progress()).
  if (p == Phase::Idle || p == Phase::Head || p == Phase::Body) ++progress_;
  phase_ = p;
}

void Session::receive(std::string_view bytes) {
  if (phase_ == Phase::Closing) return;
  in_.append(bytes);
}

std::string Session::take_output() { return std::exchange(out_, std::string()); }

Session::Action Session::next() {
  for (;;) {
    if (phase_ == Phase::Closing) return Action::Close;
    if (phase_ == Phase::Handling) return Action::Handle;
    if (out_.size() >= kOutputHighWater) return Action::Flush;
    if (!step()) return Action::Read;
  }
}

bool Session::step() {
  if (in_pos_ == in_.size()) return false;
  if (!parser_) {
    parser_ = std::make_unique<RequestParser>(settings_.max_body);
    enter_phase(Phase::Head);
  }
  const size_t used = parser_->feed(std::string_view(in_).substr(in_pos_));
  in_pos_ += used;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ >= kCompactAt) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  switch (parser_->status()) {
    case RequestParser::Status::NeedMore: return false;
    case RequestParser::Status::HeaderDone:
      if (phase_ == Phase::Head) {
        enter_phase(Phase::Body);
        // curl waits up to a second for this before sending a body over
        // 1 KB; a client that sent the body already needs no invitation.
        if (parser_->head().expect_continue && in_pos_ == in_.size()) out_ += "HTTP/1.1 100 Continue\r\n\r\n";
        return true;
      }
      return used > 0;
    case RequestParser::Status::Complete: request_complete(); return true;
    case RequestParser::Status::Failed: request_failed(); return true;
  }
  return false;
}

void Session::request_complete() {
  const RequestHead& h = parser_->head();
  auto job = std::make_unique<Job>();
  Request& r = job->request;
  r.method = h.method;
  r.target = h.target;
  r.headers = h.headers;
  r.body = parser_->take_body();
  r.peer = peer_;
  version_ = h.version;
  keep_alive_ = h.keep_alive;
  head_request_ = r.method == "HEAD";
  parser_.reset();
  ++requests_;
  started_ = clock_.steady_now();
  method_ = r.method;
  caller_name_.clear();
  if (!split_target(r)) {
    path_ = printable(r.target);
    return close_with(400, "bad_request", "the request target must be a path");
  }
  path_ = r.path;
  if (settings_.draining && settings_.draining())
    return close_with(503, "unavailable", "the server is shutting down, try again later");
  Decision d = dispatch(*api_, r, settings_.rate, clock_.steady_now());
  outcome_ = d.outcome;
  if (d.answer) return respond(*d.answer, keep_alive_);
  job->route = d.route;
  job->caller = std::move(d.caller);
  job->params = std::move(d.params);
  caller_name_ = job->caller.key_name;
  job_ = std::move(job);
  enter_phase(Phase::Handling);
}

void Session::request_failed() {
  const ParseFailure f = parser_->failure();
  const std::string reason = parser_->reason();
  method_ = parser_->head().method;
  path_ = printable(parser_->head().target);
  parser_.reset();
  version_ = 11;
  head_request_ = false;
  started_ = clock_.steady_now();
  caller_name_.clear();
  switch (f) {
    case ParseFailure::HeaderTooLarge:
      return close_with(431, "header_too_large", "request line and headers are limited to 16 KiB and 100 fields");
    case ParseFailure::BodyTooLarge: {
      std::string m = "request body over the limit of ";
      m += std::to_string(settings_.max_body);
      m += " bytes (api.max_request_size)";
      return close_with(413, "too_large", m);
    }
    case ParseFailure::NotImplemented:
      return close_with(501, "not_implemented", "transfer codings other than chunked are not supported");
    case ParseFailure::None:
    case ParseFailure::BadRequest: break;
  }
  std::string m = "malformed request";
  if (!reason.empty()) {
    m += ": ";
    m += reason;
  }
  close_with(400, "bad_request", m);
}

Job Session::take_job() {
  Job j = std::move(*job_);
  job_.reset();
  return j;
}

void Session::handled(Response response) {
  if (phase_ != Phase::Handling) return;  // the connection was lost meanwhile
  respond(response, keep_alive_);
}

void Session::respond(const Response& r, bool keep_alive) {
  const bool draining = settings_.draining && settings_.draining();
  const bool keep = keep_alive && !draining && requests_ < settings_.max_requests;
  log_request(r.status);
  ResponseMeta meta;
  meta.unix_seconds = clock_.unix_seconds();
  meta.head = head_request_;
  meta.version = version_;
  meta.close = !keep;
  out_ += write_response(r, meta);
  enter_phase(keep ? Phase::Idle : Phase::Closing);
}

void Session::close_with(int status, std::string_view code, std::string_view message) {
  if (outcome_.empty()) outcome_ = code;
  respond(Response::error(status, code, message), false);
}

void Session::log_request(int status) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - started_).count();
  log::info("http.request")
      .kv("client", peer_.ip)
      .kv("listener", settings_.listener_name)
      .kv("method", printable(method_, 16))
      .kv("path", printable(path_))
      .kv("status", status)
      .kv("key", caller_name_.empty() ? std::string("-") : caller_name_)
      .kv("outcome", outcome_.empty() ? std::string_view("ok") : outcome_)
      .kv("ms", static_cast<int64_t>(ms));
  outcome_ = {};
}

void Session::timed_out() {
  if (idle()) return enter_phase(Phase::Closing);
  method_.clear();
  set_placeholder(path_);
  outcome_ = "timeout";
  close_with(408, "request_timeout", "the request did not arrive in time");
}

void Session::shutting_down() {
  if (idle()) return enter_phase(Phase::Closing);
  method_.clear();
  set_placeholder(path_);
  close_with(503, "unavailable", "the server is shutting down, try again later");
}

void Session::lifetime_ended() {
  if (idle()) return enter_phase(Phase::Closing);
  method_.clear();
  set_placeholder(path_);
  close_with(503, "unavailable", "connection lifetime reached, reconnect");
}

void Session::connection_lost() {
  job_.reset();
  phase_ = Phase::Closing;
}

net::RequestTiming Session::timing() const {
  net::RequestTiming t;
  switch (phase_) {
    case Phase::Idle: t.whole = requests_ == 0 ? settings_.header_timeout : settings_.keepalive_timeout; break;
    case Phase::Head: t.whole = settings_.header_timeout; break;
    case Phase::Body:
      t.idle = settings_.body_idle_timeout;
      t.min_rate = settings_.min_body_rate;
      break;
    case Phase::Handling:
    case Phase::Closing: break;
  }
  return t;
}

}  // namespace volley::http
