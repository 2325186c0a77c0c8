// auth::LoginCache (hit, miss, changed password, eviction, TTL) and the
// authenticator over it (a second login costs an HMAC, not a yescrypt; a
// changed password or a deleted user invalidates the cached login).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "auth/auth_throttle.hpp"
#include "auth/login_cache.hpp"
#include "auth/password.hpp"
#include "auth/user_directory.hpp"
#include "inbound/authenticator.hpp"

using namespace std::chrono_literals;
using namespace volley;
using namespace volley::auth;

namespace {

// "u<n>@t", appended piecewise: GCC 12 at -O3 warns falsely (-Wrestrict)
// about "literal" + std::string.
std::string user_name(int n) {
  std::string u = "u";
  u += std::to_string(n);
  u += "@t";
  return u;
}

LoginCache::Settings settings(size_t max_entries = 100, std::chrono::seconds ttl = 3600s) {
  LoginCache::Settings s;
  s.max_entries = max_entries;
  s.ttl = ttl;
  return s;
}

TEST(LoginCache, HitOnlyForTheSameUserPasswordAndHash) {
  FakeClock clock;
  LoginCache cache(settings(), clock);
  EXPECT_FALSE(cache.verified("alice@t", "secret", "$y$h1")) << "empty cache";
  cache.remember("alice@t", "secret", "$y$h1");
  EXPECT_TRUE(cache.verified("alice@t", "secret", "$y$h1"));
  EXPECT_FALSE(cache.verified("alice@t", "Secret", "$y$h1")) << "other password";
  EXPECT_FALSE(cache.verified("bob@t", "secret", "$y$h1")) << "other user";
  EXPECT_FALSE(cache.verified("alice@", "tsecret", "$y$h1")) << "user/password boundary is part of the key";
  EXPECT_FALSE(cache.verified("alice@t", "secret", "")) << "no current hash: no hit";
}

TEST(LoginCache, ChangedHashInvalidatesAndDropsTheEntry) {
  FakeClock clock;
  LoginCache cache(settings(), clock);
  cache.remember("alice@t", "secret", "$y$old");
  EXPECT_FALSE(cache.verified("alice@t", "secret", "$y$new"));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.verified("alice@t", "secret", "$y$old")) << "gone, even if the old hash came back";
}

TEST(LoginCache, EntriesExpireAfterTheTtl) {
  FakeClock clock;
  LoginCache cache(settings(100, 60s), clock);
  cache.remember("alice@t", "secret", "$y$h");
  clock.advance(59s);
  EXPECT_TRUE(cache.verified("alice@t", "secret", "$y$h"));
  clock.advance(1s);
  EXPECT_FALSE(cache.verified("alice@t", "secret", "$y$h")) << "a hit does not extend the TTL";
  EXPECT_EQ(cache.size(), 0u);
}

TEST(LoginCache, BoundedLeastRecentlyUsedEvictedFirst) {
  FakeClock clock;
  LoginCache cache(settings(3), clock);
  cache.remember("a@t", "p", "h");
  cache.remember("b@t", "p", "h");
  cache.remember("c@t", "p", "h");
  EXPECT_TRUE(cache.verified("a@t", "p", "h"));  // a is now the most recent; b the least
  cache.remember("d@t", "p", "h");
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.verified("b@t", "p", "h"));
  EXPECT_TRUE(cache.verified("a@t", "p", "h"));
  EXPECT_TRUE(cache.verified("c@t", "p", "h"));
  EXPECT_TRUE(cache.verified("d@t", "p", "h"));
  for (int i = 0; i < 1000; ++i) cache.remember(user_name(i), "p", "h");
  EXPECT_EQ(cache.size(), 3u);
}

TEST(LoginCache, RememberAgainReplacesTheHash) {
  FakeClock clock;
  LoginCache cache(settings(), clock);
  cache.remember("alice@t", "secret", "$y$one");
  cache.remember("alice@t", "secret", "$y$two");
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.verified("alice@t", "secret", "$y$two"));
}

TEST(LoginCache, ThreadSafeUnderConcurrentUse) {
  LoginCache cache(settings(64));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string user = user_name((i + t) % 100);
        if (!cache.verified(user, "pw", "h")) cache.remember(user, "pw", "h");
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_LE(cache.size(), 64u);
}

// ---- the authenticator with the cache --------------------------------------

class StaticSource : public UserSource {
 public:
  explicit StaticSource(std::vector<UserRecord>& users, uint64_t& version) : users_(users), version_(version) {}
  Result<uint64_t> version() override { return version_; }
  Result<std::vector<UserRecord>> load_all() override { return users_; }

 private:
  std::vector<UserRecord>& users_;
  uint64_t& version_;
};

struct CachedAuthenticator : ::testing::Test {
  std::vector<UserRecord> records;
  uint64_t version = 1;
  UserDirectory users{std::make_unique<StaticSource>(records, version)};
  AuthThrottle throttle{AuthThrottle::Settings{}};
  LoginCache cache;
  inbound::Authenticator authn{users, throttle, {"local.test"}, &cache};

  void set_password(const std::string& pw) {
    auto hash = hash_password(pw);
    ASSERT_TRUE(hash.ok());
    UserRecord r;
    r.address = "alice@local.test";
    r.password_hash = *hash;
    records = {r};
    ++version;
    ASSERT_TRUE(users.refresh().ok());
  }
  static Credentials creds(const std::string& user, const std::string& pw) {
    Credentials c;
    c.authcid = user;
    c.password = pw;
    return c;
  }
};

TEST_F(CachedAuthenticator, SecondLoginCostsMicrosecondsNotAHash) {
  set_password("secret");
  auto timed = [&] {
    const auto start = std::chrono::steady_clock::now();
    auto r = authn.check(creds("Alice@local.test", "secret"), "192.0.2.1");
    EXPECT_TRUE(r.ok());
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  };
  const auto first = timed();
  auto second = timed();
  for (int i = 0; i < 100; ++i) second = std::min(second, timed());
  std::printf("login: first (yescrypt) %lld us, cached %lld us\n", static_cast<long long>(first.count()),
              static_cast<long long>(second.count()));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_LT(second.count() * 20, first.count()) << "a cached login must not cost a hash";
}

TEST_F(CachedAuthenticator, FailuresAreNeverCached) {
  set_password("secret");
  EXPECT_FALSE(authn.check(creds("alice@local.test", "wrong"), "192.0.2.1").ok());
  EXPECT_FALSE(authn.check(creds("nobody@local.test", "secret"), "192.0.2.1").ok());
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(CachedAuthenticator, ChangedPasswordInvalidatesTheCachedLogin) {
  set_password("secret");
  ASSERT_TRUE(authn.check(creds("alice@local.test", "secret"), "192.0.2.1").ok());
  set_password("new-secret");
  auto old = authn.check(creds("alice@local.test", "secret"), "192.0.2.1");
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code, ErrorCode::Permanent);
  EXPECT_TRUE(authn.check(creds("alice@local.test", "new-secret"), "192.0.2.1").ok());
}

TEST_F(CachedAuthenticator, DeletedUserCannotLogInFromTheCache) {
  set_password("secret");
  ASSERT_TRUE(authn.check(creds("alice@local.test", "secret"), "192.0.2.1").ok());
  records.clear();
  ++version;
  ASSERT_TRUE(users.refresh().ok());
  auto r = authn.check(creds("alice@local.test", "secret"), "192.0.2.1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::Permanent);
  // Re-added with the same password: a new salt, so a new hash and a miss.
  set_password("secret");
  EXPECT_TRUE(authn.check(creds("alice@local.test", "secret"), "192.0.2.1").ok());
}

}  // namespace
