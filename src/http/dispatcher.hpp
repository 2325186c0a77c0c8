// From a complete request to either an immediate answer or a handler to
// run: route match (404 / 405), then for non-public routes the API key
// (401), the per-address failure budget shared with SMTP AUTH and POP3
// (auth::AuthThrottle: a guesser gets 429 without any check), the route's
// scopes (403) and the key's rate limit (429 + Retry-After). All of it is
// in memory and quick, so it runs on the I/O thread; only handlers go to a
// pool.
#pragma once

#include <asio/thread_pool.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include "http/rate_limiter.hpp"
#include "http/router.hpp"
#include "util/result.hpp"

namespace volley::auth {
class AuthThrottle;
}

namespace volley::http {

// Checks a presented API key. Ok: the caller. NotFound: no such active key.
// Other errors: the keys cannot be checked now (503). Thread-safe, quick.
class KeyCheck {
 public:
  virtual ~KeyCheck() = default;
  virtual Result<Caller> check(std::string_view key) const = 0;
};

// Everything the HTTP listeners share. Built once at start-up.
struct Api {
  std::shared_ptr<const Router> router;
  std::shared_ptr<const KeyCheck> keys;
  std::shared_ptr<RateLimiter> limiter;
  auth::AuthThrottle* throttle = nullptr;  // the daemon's, shared with SMTP/POP3; null: none (tests)
  // Where handlers run (they block on SQLite and on the queue's group
  // commit, so more threads than cores: a POST spends most of its time
  // waiting for an fsync it shares with the others). Null: the intake's
  // spill pool.
  std::shared_ptr<asio::thread_pool> workers;
};

struct Decision {
  std::optional<Response> answer;  // set: send this, no handler
  const Router::Route* route = nullptr;
  Caller caller;
  PathParams params;
  std::string_view outcome;        // for the log: "ok", "no_key", "bad_key", ...
};

Decision dispatch(const Api& api, const Request& req, const RateLimiter::Rate& rate,
                  std::chrono::steady_clock::time_point now);

}  // namespace volley::http
