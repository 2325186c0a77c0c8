// http::Router matching, the dispatcher's checks (keys, scopes, the
// per-address failure budget, rate limits) and the token-bucket RateLimiter
// on made-up time.
#include <gtest/gtest.h>

#include "http_test_support.hpp"
#include "util/strings.hpp"

using namespace std::chrono_literals;
using namespace volley;
using namespace volley::http;

namespace {

Handler ok_handler() {
  return [](const Request&, const Caller&, const PathParams&) { return Response(); };
}

TEST(HttpRouter, MatchesLiteralsAndParams) {
  Router r;
  r.add("GET", "/v1/messages/{id}", ScopeSet{Scope::Send, Scope::Read}, ok_handler());
  r.add("POST", "/v1/messages", ScopeSet{Scope::Send}, ok_handler());
  r.add("DELETE", "/v1/suppressions/{address}", ScopeSet{}, ok_handler());

  auto m = r.match("GET", "/v1/messages/abc%2Fdef");
  ASSERT_NE(m.route, nullptr);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "abc/def");

  EXPECT_NE(r.match("POST", "/v1/messages").route, nullptr);
  EXPECT_NE(r.match("HEAD", "/v1/messages/x").route, nullptr);  // HEAD by the GET route
  EXPECT_EQ(r.match("GET", "/v1/messages/").status, 404);        // an empty {id} is no id
  EXPECT_EQ(r.match("GET", "/v1/messages/a/b").status, 404);
  EXPECT_EQ(r.match("GET", "/v1/nothing").status, 404);
  EXPECT_EQ(r.match("GET", "/").status, 404);
  EXPECT_EQ(r.match("get", "/v1/messages").status, 405);  // methods are case-sensitive

  m = r.match("PUT", "/v1/messages/x");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "GET, HEAD");
  EXPECT_EQ(r.match("GET", "/v1/suppressions/a%zz").status, 405);
  EXPECT_EQ(r.match("DELETE", "/v1/suppressions/a%zz").status, 400);
}

TEST(HttpScopes, AdminMayCallEverything) {
  EXPECT_TRUE(ScopeSet{}.allows(Scope::Admin));
  EXPECT_FALSE(ScopeSet{}.allows(Scope::Send));
  ScopeSet sr{Scope::Send, Scope::Read};
  EXPECT_TRUE(sr.allows(Scope::Read));
  EXPECT_TRUE(sr.allows(Scope::Send));
  EXPECT_FALSE(ScopeSet{Scope::Read}.allows(Scope::Send));
  EXPECT_EQ(parse_scope("send"), Scope::Send);
  EXPECT_FALSE(parse_scope("Send"));
  EXPECT_STREQ(scope_name(Scope::Admin), "admin");
}

struct DispatchTest : ::testing::Test {
  test::TestApi t;
  std::shared_ptr<const Api> api = t.api();
  std::chrono::steady_clock::time_point now{};
  RateLimiter::Rate rate{3, 1s};

  Decision run(std::string method, std::string path, std::string key = "", std::string ip = "192.0.2.7") {
    Request r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.peer.ip = std::move(ip);
    if (!key.empty()) r.headers.emplace_back("authorization", concat("bearer ", key));
    return dispatch(*api, r, rate, now);
  }
  static int status(const Decision& d) { return d.answer ? d.answer->status : 0; }
  static std::string header(const Decision& d, std::string_view name) {
    for (const auto& [n, v] : d.answer->headers)
      if (n == name) return v;
    return "";
  }
};

TEST_F(DispatchTest, PublicRouteNeedsNoKey) {
  auto d = run("GET", "/public/x");
  EXPECT_FALSE(d.answer);
  EXPECT_EQ(d.caller.key_name, "");
}

TEST_F(DispatchTest, KeysAndScopes) {
  EXPECT_EQ(status(run("GET", "/v1/apikeys/self")), 401);
  EXPECT_EQ(status(run("GET", "/v1/apikeys/self", "nope")), 401);
  auto d = run("GET", "/v1/apikeys/self", "k-read");
  ASSERT_FALSE(d.answer);
  EXPECT_EQ(d.caller.key_name, "reader");
  EXPECT_EQ(status(run("POST", "/v1/echo", "k-read")), 403);
  EXPECT_FALSE(run("POST", "/v1/echo", "k-admin").answer);
  // Another scheme than Bearer is no key.
  Request basic;
  basic.method = "GET";
  basic.path = "/v1/apikeys/self";
  basic.headers.emplace_back("Authorization", "Basic k-send");
  EXPECT_EQ(dispatch(*api, basic, rate, now).answer->status, 401);
}

TEST_F(DispatchTest, FailureBudgetPerAddress) {
  // The default budget: 10 failures per minute per address.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(status(run("GET", "/v1/apikeys/self", "guess")), 401) << i;
  auto d = run("GET", "/v1/apikeys/self", "guess");
  EXPECT_EQ(status(d), 429);
  EXPECT_EQ(header(d, "Retry-After"), "61");
  // Even the right key waits (nothing is checked), another address does not.
  EXPECT_EQ(status(run("GET", "/v1/apikeys/self", "k-send")), 429);
  EXPECT_FALSE(run("GET", "/v1/apikeys/self", "k-send", "192.0.2.8").answer);
}

TEST_F(DispatchTest, RateLimitPerKey) {
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(run("GET", "/v1/apikeys/self", "k-send").answer) << i;
  auto d = run("GET", "/v1/apikeys/self", "k-send");
  EXPECT_EQ(status(d), 429);
  EXPECT_EQ(header(d, "Retry-After"), "1");
  EXPECT_NE(d.answer->body.find("rate_limited"), std::string::npos);
  EXPECT_FALSE(run("GET", "/v1/apikeys/self", "k-read").answer);  // another key has its own bucket
  now += 400ms;                                                     // 1.2 tokens back
  EXPECT_FALSE(run("GET", "/v1/apikeys/self", "k-send").answer);
  EXPECT_EQ(status(run("GET", "/v1/apikeys/self", "k-send")), 429);
}

TEST(HttpRateLimiter, TokenBucketOnFakeTime) {
  RateLimiter rl;
  std::chrono::steady_clock::time_point t{};
  const RateLimiter::Rate per_minute{2, 60s};
  EXPECT_EQ(rl.acquire("a", per_minute, t), 0u);
  EXPECT_EQ(rl.acquire("a", per_minute, t), 0u);
  EXPECT_EQ(rl.acquire("a", per_minute, t), 30u);  // one token per 30 s
  t += 10s;
  EXPECT_EQ(rl.acquire("a", per_minute, t), 20u);
  t += 20s;
  EXPECT_EQ(rl.acquire("a", per_minute, t), 0u);
  t += 1h;  // refills only up to the burst
  EXPECT_EQ(rl.acquire("a", per_minute, t), 0u);
  EXPECT_EQ(rl.acquire("a", per_minute, t), 0u);
  EXPECT_GT(rl.acquire("a", per_minute, t), 0u);
}

TEST(HttpRateLimiter, MemoryIsBounded) {
  RateLimiter rl(100);
  std::chrono::steady_clock::time_point t{};
  const RateLimiter::Rate rate{5, 1s};
  for (int i = 0; i < 1000; ++i) {
    (void)rl.acquire(concat("key", std::to_string(i)), rate, t);
    t += 1ms;
  }
  EXPECT_LE(rl.size(), 100u);
  // At the bound, buckets full again are dropped first.
  RateLimiter busy(3);
  for (int i = 0; i < 5; ++i) (void)busy.acquire("hot", rate, t);
  EXPECT_GT(busy.acquire("hot", rate, t), 0u);
  (void)busy.acquire("b", rate, t);
  t += 2s;  // "b" is full again
  (void)busy.acquire("c", rate, t);
  (void)busy.acquire("d", rate, t);
  EXPECT_LE(busy.size(), 3u);
}

}  // namespace
