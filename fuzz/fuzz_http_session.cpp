// The whole HTTP session over arbitrary client bytes, split into reads at
// sizes chosen by the input, with real routing, key checks and rate limits
// (a table of keys) and handlers run inline. Checks: no crash/UB, output
// starts with a status line, never more requests served than the
// per-connection limit, output per step bounded, a closing session stays
// closed.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "auth/auth_throttle.hpp"
#include "http/routes.hpp"
#include "http/session.hpp"
#include "util/log.hpp"

#include "fuzz_check.hpp"

namespace {
using namespace volley;
using namespace volley::http;

class Keys final : public KeyCheck {
 public:
  Result<Caller> check(std::string_view key) const override {
    if (key == "k1") return Caller{"one", Scope::Send};
    if (key == "k2") return Caller{"two", Scope::Read};
    return make_error(ErrorCode::NotFound, "no");
  }
};

std::shared_ptr<const Api> make_api() {
  static auth::AuthThrottle throttle{auth::AuthThrottle::Settings{}};
  auto router = std::make_shared<Router>();
  add_builtin_routes(*router);
  router->add("POST", "/v1/e/{id}", ScopeSet{Scope::Send}, [](const Request& r, const Caller&, const PathParams& p) {
    Response resp;
    resp.body = r.body + p.at(0).second;
    return resp;
  });
  router->add("GET", "/p", std::nullopt, [](const Request& r, const Caller&, const PathParams&) {
    Response resp;
    resp.headers.emplace_back("X-Q", r.query);
    return resp;
  });
  auto api = std::make_shared<Api>();
  api->router = router;
  api->keys = std::make_shared<Keys>();
  api->limiter = std::make_shared<RateLimiter>();
  api->throttle = &throttle;
  return api;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto api = [] {
    log::set_level(log::Level::Error);
    return make_api();
  }();
  if (size < 2) return 0;
  FakeClock clock;
  SessionSettings st;
  st.max_body = 1 + data[0] * 16;
  st.max_requests = 1 + data[0] % 8;
  net::Peer peer;
  peer.ip = "192.0.2.1";
  Session s(st, api, peer, clock);
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t pos = 0, steps = 0;
  for (;;) {
    const Session::Action a = s.next();
    const std::string out = s.take_output();
    CHECK(++steps < 1'000'000);
    CHECK(out.size() <= kOutputHighWater + 64 * 1024 + 2 * st.max_body);
    CHECK(out.empty() || out.starts_with("HTTP/1.1 "));
    if (a == Session::Action::Close) {
      CHECK(s.next() == Session::Action::Close);
      break;
    }
    if (a == Session::Action::Handle) {
      Job job = s.take_job();
      CHECK(job.route != nullptr);
      s.handled(run_job(job));
      continue;
    }
    if (a == Session::Action::Flush) continue;
    if (pos >= in.size()) {
      if (data[1] & 1) {
        s.timed_out();
        continue;
      }
      s.connection_lost();
      continue;
    }
    const size_t n = 1 + data[1] % 64;
    s.receive(in.substr(pos, n));
    pos += n;
    clock.advance(std::chrono::milliseconds(data[1]));
  }
  CHECK(s.requests() <= st.max_requests);
  return 0;
}
