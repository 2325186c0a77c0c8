// Shared by the HTTP unit tests: an Api over a table of keys, and a driver
// that runs a session's dialogue in-process (handlers run inline).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "auth/auth_throttle.hpp"
#include "http/dispatcher.hpp"
#include "http/routes.hpp"
#include "http/session.hpp"
#include "util/clock.hpp"

namespace volley::test {

class TableKeyCheck final : public http::KeyCheck {
 public:
  std::map<std::string, http::Caller> keys;
  bool unavailable = false;
  Result<http::Caller> check(std::string_view key) const override {
    if (unavailable) return make_error(ErrorCode::Temporary, "not loaded");
    auto it = keys.find(std::string(key));
    if (it == keys.end()) return make_error(ErrorCode::NotFound, "no such key");
    return it->second;
  }
};

struct TestApi {
  std::shared_ptr<http::Router> router = std::make_shared<http::Router>();
  std::shared_ptr<TableKeyCheck> keys = std::make_shared<TableKeyCheck>();
  std::shared_ptr<http::RateLimiter> limiter = std::make_shared<http::RateLimiter>();
  auth::AuthThrottle throttle{auth::AuthThrottle::Settings{}};

  TestApi() {
    keys->keys["k-send"] = http::Caller{"app", http::Scope::Send};
    keys->keys["k-read"] = http::Caller{"reader", http::Scope::Read};
    keys->keys["k-admin"] = http::Caller{"root", http::Scope::Admin};
    http::add_builtin_routes(*router);
    router->add("POST", "/v1/echo", http::ScopeSet{http::Scope::Send},
                [](const http::Request& r, const http::Caller&, const http::PathParams&) {
                  http::Response resp;
                  resp.body = r.body;
                  return resp;
                });
    router->add("GET", "/public/{token}", std::nullopt,
                [](const http::Request&, const http::Caller&, const http::PathParams& p) {
                  http::Response resp;
                  resp.body = p.at(0).second;
                  return resp;
                });
    router->add("GET", "/boom", std::nullopt,
                [](const http::Request&, const http::Caller&, const http::PathParams&) -> http::Response {
                  throw std::runtime_error("handler bug");
                });
  }
  std::shared_ptr<const http::Api> api() {
    auto a = std::make_shared<http::Api>();
    a->router = router;
    a->keys = keys;
    a->limiter = limiter;
    a->throttle = &throttle;
    return a;
  }
};

// Runs the session until it wants to read or close; handlers run inline.
// Returns everything written meanwhile.
inline std::string drive(http::Session& s, int* handled = nullptr) {
  std::string out;
  for (;;) {
    const auto a = s.next();
    out += s.take_output();
    if (a == http::Session::Action::Handle) {
      http::Job job = s.take_job();
      s.handled(http::run_job(job));
      if (handled) ++*handled;
      continue;
    }
    if (a == http::Session::Action::Flush) continue;
    return out;
  }
}

}  // namespace volley::test
