// The daemon's in-memory users (auth::UserDirectory), the authenticator over
// them, the per-address AUTH failure budget and the recipient directory —
// with a user source whose backend fails on demand.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "auth/auth_throttle.hpp"
#include "auth/password.hpp"
#include "auth/user_directory.hpp"
#include "inbound/authenticator.hpp"
#include "inbound/recipient_directory.hpp"
#include "smtp/address.hpp"

using namespace std::chrono_literals;
using namespace volley;
using namespace volley::auth;

namespace {

// A user source whose backend fails when told to, and counts its reads.
class FakeSource : public UserSource {
 public:
  struct State {
    std::vector<UserRecord> users;
    uint64_t version = 1;
    bool fail_version = false;
    bool fail_load = false;
    int loads = 0;
  };
  explicit FakeSource(State& s) : s_(s) {}
  Result<uint64_t> version() override {
    if (s_.fail_version) return make_error(ErrorCode::Io, "database is locked");
    return s_.version;
  }
  Result<std::vector<UserRecord>> load_all() override {
    ++s_.loads;
    if (s_.fail_load) return make_error(ErrorCode::Io, "disk I/O error");
    return s_.users;
  }

 private:
  State& s_;
};

UserRecord user(std::string address, std::string hash = "") {
  UserRecord r;
  r.address = std::move(address);
  r.password_hash = std::move(hash);
  return r;
}

struct DirectoryFixture : ::testing::Test {
  FakeSource::State state;
  UserDirectory dir{std::make_unique<FakeSource>(state)};
};

TEST_F(DirectoryFixture, NoSnapshotIsTemporaryNeverNotFound) {
  // Defect 1d: a storage failure must never read as "no such user".
  state.fail_version = true;
  EXPECT_FALSE(dir.refresh().ok());
  auto r = dir.find("alice@local.test");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().temporary());
  EXPECT_NE(r.error().code, ErrorCode::NotFound);
}

TEST_F(DirectoryFixture, FoundAndDefinitelyNotFound) {
  state.users = {user("alice@local.test")};
  ASSERT_TRUE(dir.refresh().ok());
  auto found = dir.find("Alice@LOCAL.test");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->address, "alice@local.test");
  auto missing = dir.find("bob@local.test");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
  EXPECT_FALSE(missing.error().temporary());
}

TEST_F(DirectoryFixture, FailedRefreshKeepsLastGoodSnapshot) {
  state.users = {user("alice@local.test")};
  ASSERT_TRUE(dir.refresh().ok());
  state.users = {};
  ++state.version;
  state.fail_load = true;
  EXPECT_FALSE(dir.refresh().ok());
  EXPECT_TRUE(dir.find("alice@local.test").ok()) << "the last good snapshot must stay";
  state.fail_version = true;
  EXPECT_FALSE(dir.refresh().ok());
  EXPECT_TRUE(dir.find("alice@local.test").ok());
  // Once the store is readable again, the change is picked up.
  state.fail_version = state.fail_load = false;
  ASSERT_TRUE(dir.refresh().ok());
  EXPECT_EQ(dir.find("alice@local.test").error().code, ErrorCode::NotFound);
}

TEST_F(DirectoryFixture, ReloadsOnlyWhenTheVersionChanges) {
  ASSERT_TRUE(dir.refresh().ok());
  ASSERT_TRUE(dir.refresh().ok());
  EXPECT_EQ(state.loads, 1);
  ++state.version;
  ASSERT_TRUE(dir.refresh().ok());
  EXPECT_EQ(state.loads, 2);
  ASSERT_TRUE(dir.refresh(true).ok());
  EXPECT_EQ(state.loads, 3);
}

TEST(UserDirectoryRefresher, PicksUpChangesInTheBackground) {
  FakeSource::State state;
  std::mutex mu;
  // The refresher reads `state` on its thread: give it a locked view.
  class LockedSource : public UserSource {
   public:
    LockedSource(FakeSource::State& s, std::mutex& m) : inner_(s), mu_(m) {}
    Result<uint64_t> version() override {
      std::lock_guard l(mu_);
      return inner_.version();
    }
    Result<std::vector<UserRecord>> load_all() override {
      std::lock_guard l(mu_);
      return inner_.load_all();
    }

   private:
    FakeSource inner_;
    std::mutex& mu_;
  };
  UserDirectory dir(std::make_unique<LockedSource>(state, mu));
  dir.start(10ms);
  {
    std::lock_guard l(mu);
    state.users = {user("new@local.test")};
    ++state.version;
  }
  bool seen = false;
  for (int i = 0; i < 300 && !seen; ++i) {
    seen = dir.find("new@local.test").ok();
    if (!seen) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(seen);
}

TEST(UserDirectoryStore, RealStoreThroughTheReopeningSource) {
  char tmpl[] = "/tmp/volley-userdir-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/users.db";
  UserDirectory dir(open_user_source(path));
  ASSERT_TRUE(dir.refresh().ok());
  EXPECT_EQ(dir.find("carol@local.test").error().code, ErrorCode::NotFound);
  {
    auto store = UserStore::open(path);  // another connection, like the CLI
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store.value()->add("carol@local.test", "pw").ok());
  }
  ASSERT_TRUE(dir.refresh().ok());  // data_version changed
  EXPECT_TRUE(dir.find("carol@local.test").ok());
  std::filesystem::remove_all(tmpl);
}

// ---- AUTH failure budget (1f) ---------------------------------------------

AuthThrottle::Settings budget(unsigned n) {
  AuthThrottle::Settings s;
  s.base_delay = 0ms;
  s.max_delay = 0ms;
  s.max_failures_per_window = n;
  s.budget_window = 60s;
  return s;
}

TEST(AuthBudget, RefusesBeyondTheBudgetUntilTheWindowPasses) {
  AuthThrottle t(budget(3));
  auto t0 = AuthThrottle::Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(t.admit("192.0.2.1", t0));
    (void)t.record_failure("192.0.2.1", t0);
  }
  EXPECT_FALSE(t.admit("192.0.2.1", t0 + 59s));
  EXPECT_TRUE(t.admit("192.0.2.2", t0)) << "other addresses have their own budget";
  EXPECT_TRUE(t.admit("192.0.2.1", t0 + 60s)) << "a new window";
}

TEST(AuthBudget, SuccessesAndStorageFailuresGiveTheAttemptBack) {
  AuthThrottle t(budget(2));
  auto t0 = AuthThrottle::Clock::time_point{} + 1h;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(t.admit("192.0.2.1", t0)) << i;
    t.release("192.0.2.1", t0);
  }
  EXPECT_TRUE(t.admit("192.0.2.1", t0));
  EXPECT_TRUE(t.admit("192.0.2.1", t0));
  EXPECT_FALSE(t.admit("192.0.2.1", t0)) << "two attempts in flight spend a budget of two";
}

TEST(AuthBudget, ParallelAttemptsCannotExceedIt) {
  AuthThrottle t(budget(10));
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j)
        if (t.admit("198.51.100.7")) admitted++;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted.load(), 10);
}

TEST(AuthBudget, ZeroMeansNoBudgetAndTableIsBounded) {
  AuthThrottle none(budget(0));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(none.admit("192.0.2.1"));
  auto s = budget(1);
  s.max_entries = 64;
  AuthThrottle t(s);
  for (int i = 0; i < 10000; ++i) (void)t.admit("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  EXPECT_LE(t.size(), 64u);
}

// ---- the authenticator ----------------------------------------------------

struct AuthenticatorFixture : ::testing::Test {
  FakeSource::State state;
  UserDirectory users{std::make_unique<FakeSource>(state)};
  AuthThrottle throttle{budget(3)};
  inbound::Authenticator authn{users, throttle, {"local.test"}};

  void SetUp() override {
    auto hash = hash_password("secret");
    ASSERT_TRUE(hash.ok());
    state.users = {user("alice@local.test", *hash), user("stray@elsewhere.test", *hash)};
  }
  static Credentials creds(std::string user, std::string pw, std::string authzid = "") {
    Credentials c;
    c.authcid = std::move(user);
    c.password = std::move(pw);
    c.authzid = std::move(authzid);
    return c;
  }
};

TEST_F(AuthenticatorFixture, StorageFailureIsTemporaryNot535) {
  // Defect 1d at AUTH: no user snapshot -> 454 4.7.0, never "invalid credentials".
  state.fail_version = true;
  (void)users.refresh();
  auto r = authn.check(creds("alice@local.test", "secret"), "192.0.2.1");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().temporary());
  EXPECT_NE(r.error().code, ErrorCode::Permanent);
  EXPECT_EQ(authn.failure_delay(r.error(), "192.0.2.1"), 0ms);
  EXPECT_EQ(throttle.failures("192.0.2.1"), 0u) << "not counted against the client";
}

TEST_F(AuthenticatorFixture, OkWrongAndForeign) {
  ASSERT_TRUE(users.refresh().ok());
  auto ok = authn.check(creds("Alice@Local.Test", "secret"), "192.0.2.1");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "alice@local.test");
  auto wrong = authn.check(creds("alice@local.test", "nope"), "192.0.2.1");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::Permanent);
  auto other = authn.check(creds("alice@local.test", "secret", "bob@local.test"), "192.0.2.2");
  EXPECT_EQ(other.error().code, ErrorCode::Permanent) << "authzid must be the user itself";
  auto nonlocal = authn.check(creds("stray@elsewhere.test", "secret"), "192.0.2.2");
  EXPECT_EQ(nonlocal.error().code, ErrorCode::Permanent) << "a user outside the local domains cannot log in";
}

TEST_F(AuthenticatorFixture, BudgetSpentRefusesWithoutCheckingEvenTheRightPassword) {
  ASSERT_TRUE(users.refresh().ok());
  for (int i = 0; i < 3; ++i) {
    auto r = authn.check(creds("alice@local.test", "guess"), "203.0.113.5");
    ASSERT_EQ(r.error().code, ErrorCode::Permanent);
    (void)authn.failure_delay(r.error(), "203.0.113.5");
  }
  auto r = authn.check(creds("alice@local.test", "secret"), "203.0.113.5");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::RateLimited);
  EXPECT_TRUE(authn.check(creds("alice@local.test", "secret"), "203.0.113.6").ok());
}

// ---- the recipient directory ----------------------------------------------

TEST(RecipientDirectory, TemporaryUserFailureIsNotUnknownUser) {
  FakeSource::State state;
  state.fail_version = true;
  UserDirectory users(std::make_unique<FakeSource>(state));
  (void)users.refresh();
  config::Config cfg;
  cfg.local_domains = {"local.test"};
  cfg.aliases["sales@local.test"] = {"alice@local.test"};
  inbound::RecipientDirectory dir(cfg, users);
  auto r = dir.local_targets("alice@local.test");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().temporary());
  // Aliases and postmaster live in the configuration: they still work.
  EXPECT_TRUE(dir.local_targets("sales@local.test").ok());
  EXPECT_TRUE(dir.local_targets("postmaster@local.test").ok());

  state.fail_version = false;
  state.users = {user("alice@local.test")};
  ASSERT_TRUE(users.refresh().ok());
  ASSERT_TRUE(dir.local_targets("alice@local.test").ok());
  EXPECT_EQ(dir.local_targets("nobody@local.test").error().code, ErrorCode::NotFound);
}

}  // namespace

// ---- user names (1f): the same grammar as SMTP, plus what a mailbox needs --

namespace user_names {

struct NameCase {
  const char* input;
  const char* expect;  // normalised name, or nullptr when refused
};

TEST(UserName, ValidateUserNameTable) {
  const std::vector<std::string> local = {"d.test", "local.test"};
  const std::string max_local(64, 'a');
  const std::string long_local(65, 'a');
  const NameCase cases[] = {
      {"alice@d.test", "alice@d.test"},
      {"  Alice@D.TEST\n", "alice@d.test"},
      {"first.last+tag@local.test", "first.last+tag@local.test"},
      {"JOSÉ@d.test", "josÉ@d.test"},  // ASCII lowered, UTF-8 bytes kept
      {"\"alice\"@d.test", "alice@d.test"},  // quotes that change nothing are dropped
      // The defect's examples:
      {"a/b@d.test", nullptr},
      {"../x@d.test", nullptr},
      {".hidden@d.test", nullptr},
      {"x@d.test/../..", nullptr},
      {"x@elsewhere.test", nullptr},  // not a local domain
      {"\"a b\"@d.test", nullptr},    // needs quoting: no mailbox
      {"a..b@d.test", nullptr},
      {"trailing.@d.test", nullptr},
      {"x@[127.0.0.1]", nullptr},
      {"nul\x01@d.test", nullptr},
      {"alice", nullptr},
      {"@d.test", nullptr},
      {"a@b@d.test", nullptr},
      {"", nullptr},
  };
  for (const auto& c : cases) {
    auto r = validate_user_name(c.input, local);
    if (c.expect) {
      ASSERT_TRUE(r.ok()) << c.input << ": " << r.error().message;
      EXPECT_EQ(*r, c.expect) << c.input;
    } else {
      ASSERT_FALSE(r.ok()) << c.input << " was accepted as " << *r;
      EXPECT_EQ(r.error().code, ErrorCode::Invalid);
      EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "one-line reason";
    }
  }
  EXPECT_TRUE(validate_user_name(max_local + "@d.test", local).ok());
  EXPECT_FALSE(validate_user_name(long_local + "@d.test", local).ok()) << "65-octet local part";
}

// One normalisation for the store, the CLI, the directory and RCPT.
TEST(UserName, NormalisationMatchesRcptLookupKey) {
  for (const char* a : {"Alice@Local.Test", "JOSÉ@d.test", "\"Bob\"@D.test", "x.Y+Z@d.TEST"}) {
    auto parsed = smtp::parse_path(std::string("<") + a + ">", smtp::PathOptions{.allow_utf8 = true});
    ASSERT_TRUE(parsed.ok) << a;
    auto normalised = normalize_address(a);
    ASSERT_TRUE(normalised.ok()) << a;
    EXPECT_EQ(*normalised, parsed.value.path.mailbox.lookup_key()) << a;
  }
}

TEST(UserName, SnapshotIgnoresNamesThatCannotBeMailboxes) {
  FakeSource::State state;
  state.users = {user("a/b@d.test"), user(".hidden@d.test"), user("ok@d.test")};
  UserDirectory dir(std::make_unique<FakeSource>(state));
  ASSERT_TRUE(dir.refresh().ok());
  EXPECT_EQ(dir.snapshot()->size(), 1u);
  EXPECT_EQ(dir.find("a/b@d.test").error().code, ErrorCode::NotFound);
  EXPECT_TRUE(dir.find("OK@d.test").ok());
}

}  // namespace user_names

// ---- relay.sender_login_match (1f) -----------------------------------------

namespace sender_login {

struct SenderCase {
  config::SenderLoginMatch mode;
  const char* sender;
  bool allowed;
};

TEST(SenderLoginMatch, ModesTable) {
  using M = config::SenderLoginMatch;
  FakeSource::State state;
  UserDirectory users(std::make_unique<FakeSource>(state));
  const SenderCase cases[] = {
      {M::Address, "alice@local.test", true},
      {M::Address, "ALICE@Local.Test", true},
      {M::Address, "sales@local.test", true},      // an alias pointing to alice
      {M::Address, "team@brand.test", true},       // an alias in another local domain
      {M::Address, "bob@local.test", false},
      {M::Address, "ceo@bank.test", false},
      {M::Domain, "bob@local.test", true},
      {M::Domain, "anyone@brand.test", true},      // alice belongs to brand.test through team@
      {M::Domain, "ceo@bank.test", false},
      {M::Domain, "alice@other.test", false},
      {M::Domain, "alice@[127.0.0.1]", false},
      {M::Any, "ceo@bank.test", true},
  };
  for (const auto& c : cases) {
    config::Config cfg;
    cfg.local_domains = {"local.test", "brand.test", "other.test"};
    cfg.aliases["sales@local.test"] = {"alice@local.test", "bob@local.test"};
    cfg.aliases["team@brand.test"] = {"Alice@local.test"};
    cfg.aliases["info@other.test"] = {"bob@local.test"};
    cfg.sender_login_match = c.mode;
    inbound::RecipientDirectory dir(cfg, users);
    auto parsed = smtp::parse_mailbox(c.sender);
    ASSERT_TRUE(parsed.ok) << c.sender;
    auto r = dir.check_sender("alice@local.test", parsed.value.path.mailbox);
    EXPECT_EQ(r.ok(), c.allowed) << c.sender << " mode " << static_cast<int>(c.mode);
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::Permanent);
    }
  }
}

TEST(SenderLoginMatch, ConfigKey) {
  const std::string base = "[[listener]]\naddress = \"127.0.0.1:2525\"\n";
  auto def = config::load_string(base);
  ASSERT_TRUE(def.ok()) << def.error().message;
  EXPECT_EQ(def->sender_login_match, config::SenderLoginMatch::Domain) << "default";
  auto addr = config::load_string(base + "[relay]\nsender_login_match = \"address\"\n");
  ASSERT_TRUE(addr.ok()) << addr.error().message;
  EXPECT_EQ(addr->sender_login_match, config::SenderLoginMatch::Address);
  EXPECT_EQ(def->limits.max_auth_failures_per_ip, 10u);
  EXPECT_EQ(def->limits.auth_failures_per_ip_window, std::chrono::minutes(1));
  auto budget = config::load_string(base + "[limits]\nmax_auth_failures_per_ip = 0\nauth_failures_per_ip_window = \"5m\"\n");
  ASSERT_TRUE(budget.ok()) << budget.error().message;
  EXPECT_EQ(budget->limits.max_auth_failures_per_ip, 0u);
  EXPECT_EQ(budget->limits.auth_failures_per_ip_window, std::chrono::minutes(5));
  auto bad_window = config::load_string(base + "[limits]\nauth_failures_per_ip_window = \"0s\"\n");
  ASSERT_FALSE(bad_window.ok());
  EXPECT_NE(bad_window.error().message.find("limits.auth_failures_per_ip_window"), std::string::npos);
  auto bad = config::load_string(base + "[relay]\nsender_login_match = \"user\"\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("relay.sender_login_match"), std::string::npos) << bad.error().message;
}

}  // namespace sender_login
