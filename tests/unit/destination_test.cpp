// Destination: the per-destination rules on made-up time (unix ms passed
// in): job queue bounds, how many connections queued jobs call for, the
// shaping rule's caps and back-off, the route cache's lifetime and its
// reshuffling of equal MX preferences, suspension, and when an idle
// destination is forgotten.
#include "delivery/destination.hpp"

#include <gtest/gtest.h>

#include <set>

#include "delivery/limits.hpp"

namespace volley::delivery {
namespace {
using namespace std::chrono_literals;

constexpr int64_t kT0 = 1'700'000'000'000;

Job job_for(size_t rcpt) { return Job{std::make_shared<ActiveMessage>(), {rcpt}}; }

config::DeliverySection delivery_with_rule(const std::string& pattern, uint32_t max_connections) {
  config::DeliverySection del;
  del.default_max_connections_per_domain = 20;
  config::ShapingRule r;
  r.match = pattern;
  r.max_connections = max_connections;
  del.shaping.push_back(r);
  return del;
}

Endpoint ep(const std::string& host, const std::string& ip) { return Endpoint{host, asio::ip::make_address(ip), 25}; }

TEST(Destination, JobsAreFifoAndPutBackGoesFirst) {
  Destination d("example.com", "example.com");
  d.add(job_for(1), kT0);
  d.add(job_for(2), kT0);
  d.put_back(job_for(0));
  ASSERT_EQ(d.queued(), 3u);
  EXPECT_EQ(d.take().rcpts[0], 0u);
  EXPECT_EQ(d.take().rcpts[0], 1u);
  EXPECT_EQ(d.take_all().size(), 1u);
  EXPECT_FALSE(d.has_jobs());
}

TEST(Destination, FullAtTheJobCap) {
  Destination d("example.com", "example.com");
  for (size_t i = 0; i < 3; ++i) d.add(job_for(i), kT0);
  EXPECT_FALSE(d.full(4));
  EXPECT_TRUE(d.full(3));
}

TEST(Destination, OneConnectionPerJobNotAlreadyCovered) {
  Destination d("example.com", "example.com");
  for (size_t i = 0; i < 5; ++i) d.add(job_for(i), kT0);
  EXPECT_EQ(d.connections_wanted(0, 20), 5u);
  EXPECT_EQ(d.connections_wanted(2, 20), 3u);  // two idle connections woken
  EXPECT_EQ(d.connections_wanted(0, 3), 3u);   // the limit
  d.connection_opening();
  d.connection_opening();
  EXPECT_EQ(d.connections_wanted(0, 20), 3u);  // two already starting
  EXPECT_EQ(d.connections_wanted(0, 2), 0u);   // at the limit
  d.connection_started(true);
  d.connection_started(false);
  EXPECT_EQ(d.established(), 1u);
  EXPECT_EQ(d.connections(), 2u);
  EXPECT_EQ(d.connections_wanted(0, 20), 5u);  // none starting: every job wants one, within the limit
  EXPECT_EQ(d.connections_wanted(5, 20), 0u);
}

TEST(Destination, RuleCapsAndBackoffLimitConnections) {
  auto del = delivery_with_rule("example.com", 4);
  Destination d("example.com", "example.com");
  Destination other("example.org", "example.org");
  d.refresh_rule(del, 1);
  other.refresh_rule(del, 1);
  EXPECT_EQ(d.rule(), 0);
  EXPECT_EQ(other.rule(), -1);
  EXPECT_EQ(d.connection_limit(del), 4u);
  EXPECT_EQ(d.rule_connection_cap(del), std::optional<unsigned>(4));
  EXPECT_EQ(other.connection_limit(del), 20u);
  EXPECT_FALSE(other.rule_connection_cap(del));
  d.backoff().on_throttle(kT0);
  EXPECT_EQ(d.connection_limit(del), 2u);  // halved after a throttling reply
  d.backoff().on_success();
  EXPECT_EQ(d.connection_limit(del), 4u);
}

TEST(Destination, RuleIsLookedUpAgainAfterAReconfiguration) {
  Destination d("example.com", "example.com");
  d.refresh_rule(delivery_with_rule("example.com", 4), 1);
  EXPECT_EQ(d.rule(), 0);
  d.refresh_rule(delivery_with_rule("example.net", 4), 1);  // same generation: kept
  EXPECT_EQ(d.rule(), 0);
  d.refresh_rule(delivery_with_rule("example.net", 4), 2);
  EXPECT_EQ(d.rule(), -1);
}

TEST(Destination, RuleMayNameTheMxProvider) {
  auto del = delivery_with_rule("mail.provider.test", 2);
  Destination d("customer.test", "customer.test");
  d.refresh_rule(del, 1);
  EXPECT_EQ(d.rule(), -1);
  d.match_rule_by_hosts(del, {"mx1.mail.provider.test"});
  EXPECT_EQ(d.rule(), 0);
}

TEST(Destination, RouteIsCachedForTheRouteCacheTime) {
  Destination d("example.com", "example.com");
  std::mt19937 rng(1);
  EXPECT_FALSE(d.cached_route(kT0, rng));
  d.remember_route({ep("mx.example.com", "192.0.2.1")}, {10}, kT0);
  auto cached = d.cached_route(kT0 + limits::kRouteCacheTime.count() - 1, rng);
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->at(0).host, "mx.example.com");
  EXPECT_FALSE(d.cached_route(kT0 + limits::kRouteCacheTime.count(), rng));
}

TEST(Destination, CachedRouteReshufflesEqualPreferencesOnly) {
  Destination d("example.com", "example.com");
  d.remember_route({ep("a", "192.0.2.1"), ep("b", "192.0.2.2"), ep("c", "192.0.2.3"), ep("z", "192.0.2.9")},
                   {10, 10, 10, 20}, kT0);
  std::set<std::string> firsts;
  for (uint32_t seed = 0; seed < 50; ++seed) {
    std::mt19937 rng(seed);
    auto r = d.cached_route(kT0, rng);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 4u);
    firsts.insert(r->front().host);
    EXPECT_EQ(r->back().host, "z");  // the backup MX stays last
  }
  EXPECT_EQ(firsts, (std::set<std::string>{"a", "b", "c"}));
}

TEST(Destination, SuspensionFailsUntilItEndsAndForgetsTheRoute) {
  Destination d("example.com", "example.com");
  std::mt19937 rng(1);
  d.remember_route({ep("mx.example.com", "192.0.2.1")}, {10}, kT0);
  auto why = local_outcome(Status::Deferred, "4.4.1", "connection refused", "");
  d.suspend(why, kT0 + 15'000);
  EXPECT_TRUE(d.suspended(kT0 + 14'999));
  EXPECT_FALSE(d.suspended(kT0 + 15'000));
  EXPECT_EQ(d.suspend_reason().enhanced, "4.4.1");
  EXPECT_FALSE(d.cached_route(kT0, rng));  // looked up afresh after
  d.suspend(why, kT0 + 15'000);
  d.resume();
  EXPECT_FALSE(d.suspended(kT0));
}

TEST(Destination, SuspensionIsHalfTheFirstRetryAtMostThirtySeconds) {
  EXPECT_EQ(suspension_time_ms({20s, 5min}), 10'000);
  EXPECT_EQ(suspension_time_ms({5min}), limits::kMaxSuspension.count());
  EXPECT_EQ(suspension_time_ms({}), limits::kMaxSuspension.count());
}

TEST(Destinations, IdleOnesAreForgottenBusyOnesKept) {
  Destinations table;
  const int64_t idle_for = limits::kForgetIdleDestination.count();
  table.get("idle.test", "idle.test")->add(job_for(0), kT0);
  table.find("idle.test")->take_all();
  table.get("queued.test", "queued.test")->add(job_for(0), kT0);
  auto& connected = table.get("connected.test", "connected.test");
  connected->connection_opening();
  auto& suspended = table.get("suspended.test", "suspended.test");
  suspended->suspend(local_outcome(Status::Deferred, "4.4.1", "down", ""), kT0 + 2 * idle_for);
  EXPECT_EQ(table.forget_idle(kT0 + idle_for), 0u);  // not idle long enough
  EXPECT_EQ(table.forget_idle(kT0 + idle_for + 1), 1u);
  EXPECT_FALSE(table.find("idle.test"));
  EXPECT_TRUE(table.find("queued.test"));
  EXPECT_TRUE(table.find("connected.test"));
  EXPECT_TRUE(table.find("suspended.test"));
  EXPECT_EQ(table.forget_idle(kT0 + 2 * idle_for + 1), 1u);  // the suspension ended
  EXPECT_FALSE(table.find("suspended.test"));
}

TEST(Destinations, OneDestinationPerKey) {
  Destinations table;
  auto a = table.get("example.com", "example.com");
  auto b = table.get("example.com", "example.com");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(table.size(), 1u);
  EXPECT_TRUE(table.get(kSmarthostKey, "")->is_smarthost());
}

}  // namespace
}  // namespace volley::delivery
