#include "http/dispatcher.hpp"

#include "auth/auth_throttle.hpp"
#include "util/strings.hpp"

namespace volley::http {
namespace {

Decision answer(Response r, std::string_view outcome) {
  Decision d;
  d.answer = std::move(r);
  d.outcome = outcome;
  return d;
}

Response unauthorized(std::string_view message, bool bad_token) {
  Response r = Response::error(401, "unauthorized", message);
  r.headers.emplace_back("WWW-Authenticate", bad_token ? "Bearer error=\"invalid_token\"" : "Bearer");
  return r;
}

Response too_many(uint64_t retry_after_seconds, std::string_view message) {
  Response r = Response::error(429, "rate_limited", message);
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  return r;
}

// "Bearer <token>" (RFC 6750 2.1; the scheme is case-insensitive).
std::optional<std::string_view> bearer_token(const Request& req) {
  auto h = req.header("Authorization");
  if (!h) return std::nullopt;
  std::string_view v = trim(*h);
  if (v.size() < 7 || !iequals(v.substr(0, 7), "Bearer ")) return std::nullopt;
  v = trim(v.substr(7));
  if (v.empty()) return std::nullopt;
  return v;
}

}  // namespace

Decision dispatch(const Api& api, const Request& req, const RateLimiter::Rate& rate,
                  std::chrono::steady_clock::time_point now) {
  Router::Match m = api.router->match(req.method, req.path);
  if (m.status == 404) return answer(Response::error(404, "not_found", "no such resource"), "not_found");
  if (m.status == 400) return answer(Response::error(400, "bad_request", "bad percent-encoding in the path"), "bad_path");
  if (m.status == 405) {
    Response r = Response::error(405, "method_not_allowed", "method not allowed here");
    r.headers.emplace_back("Allow", m.allow);
    return answer(std::move(r), "bad_method");
  }
  Decision d;
  d.route = m.route;
  d.params = std::move(m.params);
  d.outcome = "ok";
  if (!m.route->allowed) return d;  // public

  auto token = bearer_token(req);
  if (!token) return answer(unauthorized("an API key is required: Authorization: Bearer <key>", false), "no_key");
  auth::AuthThrottle* throttle = api.throttle;
  const std::string& ip = req.peer.ip;
  // The budget is spent before the key is even looked at: a guesser gets a
  // cheap 429 until the window passes.
  if (throttle && !throttle->admit(ip))
    return answer(too_many(1 + static_cast<uint64_t>(throttle->budget_window().count() / 1000),
                           "too many failed authentications from your address"),
                  "throttled");
  auto caller = api.keys->check(*token);
  if (!caller) {
    if (caller.error().code != ErrorCode::NotFound) {
      if (throttle) throttle->release(ip);
      return answer(Response::error(503, "unavailable", "API keys cannot be checked now, try again later"),
                    "keys_unavailable");
    }
    if (throttle) (void)throttle->record_failure(ip);
    return answer(unauthorized("invalid or revoked API key", true), "bad_key");
  }
  if (throttle) throttle->release(ip);
  d.caller = std::move(caller.value());
  if (!m.route->allowed->allows(d.caller.scope)) {
    std::string why = "this API key's scope (";
    why += scope_name(d.caller.scope);
    why += ") may not call this endpoint";
    return answer(Response::error(403, "forbidden", why), "forbidden");
  }
  if (api.limiter) {
    if (uint64_t wait = api.limiter->acquire(d.caller.key_name, rate, now); wait > 0)
      return answer(too_many(wait, "rate limit of this API key exceeded"), "rate_limited");
  }
  return d;
}

}  // namespace volley::http
