// Unit tests for src/auth (password hashing, user store, SASL decoding,
// failure throttle) and the `volley user` command. yescrypt is deliberately
// slow, so the number of hash/verify calls here is kept small.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "admin/user_command.hpp"
#include "auth/auth_throttle.hpp"
#include "auth/password.hpp"
#include "auth/sasl.hpp"
#include "auth/user_store.hpp"
#include "util/base64.hpp"

using namespace std::string_literals;
using namespace std::string_view_literals;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using namespace volley;
using namespace volley::auth;

namespace {

// A fresh directory under $TMPDIR, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "volley-auth-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string str(const std::string& sub = "") const { return sub.empty() ? path_.string() : (path_ / sub).string(); }

 private:
  fs::path path_;
};

unsigned file_mode(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

std::unique_ptr<UserStore> open_store(const std::string& path) {
  auto r = UserStore::open(path);
  if (!r) ADD_FAILURE() << r.error().message;
  return r ? std::move(*r) : nullptr;
}

}  // namespace

// ---- password --------------------------------------------------------------

TEST(Password, HashIsYescryptAndVerifies) {
  auto h = hash_password("correct horse battery staple");
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->rfind("$y$", 0), 0u) << *h;
  EXPECT_TRUE(verify_password("correct horse battery staple", *h));
  EXPECT_FALSE(verify_password("correct horse battery stapl", *h));
  EXPECT_FALSE(verify_password("", *h));
  // A truncated stored hash never matches.
  EXPECT_FALSE(verify_password("correct horse battery staple", h->substr(0, h->size() - 1)));
}

TEST(Password, SameInputGetsDifferentSalt) {
  auto a = hash_password("hunter2");
  auto b = hash_password("hunter2");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(verify_password("hunter2", *b));
}

TEST(Password, MalformedStoredHashIsFalse) {
  for (const std::string& bad : std::vector<std::string>{"", "*", "*0", "*1", "hunter2", "abJnggxhB/yWI", "$y$", "$y$garbage", "$y$j9T$",
                          "$unknown$abc$def", std::string("$y$\0x", 5)}) {
    EXPECT_FALSE(verify_password("hunter2", bad)) << "hash: " << bad;
  }
}

TEST(Password, RejectsNulAndOverlongInput) {
  EXPECT_FALSE(hash_password("pass\0word"sv).ok());
  EXPECT_FALSE(hash_password(std::string(512, 'x')).ok());
  EXPECT_FALSE(hash_password(std::string(2000, 'x')).ok());
  // Verify refuses the same inputs without needing a real hash.
  EXPECT_FALSE(verify_password("pass\0word"sv, "$y$j9T$abcdefgh$abcdefghijklmnopqrstuvwxyz0123456789ABCDEF"));
}

// ---- user store ------------------------------------------------------------

TEST(NormalizeAddress, TrimsAndLowercases) {
  auto a = normalize_address("  Alice@Example.TEST\t\r\n");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "alice@example.test");
}

TEST(NormalizeAddress, RejectsInvalid) {
  std::string long_local(250, 'a');
  for (const std::string& bad : std::vector<std::string>{"", "   ", "alice", "@x.test", "alice@", "a@b@x.test", "al ice@x.test", "alice@x\x01.test",
                          "alice@x\x7f.test", "alice\t@x.test", long_local + "@x.test", std::string("a\0b@x.test", 10)}) {
    auto r = normalize_address(bad);
    EXPECT_FALSE(r.ok()) << "address: " << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find("invalid address"), std::string::npos);
    }
  }
  EXPECT_TRUE(normalize_address(std::string(64, 'a') + "@x.test").ok());  // RFC 5321 4.5.3.1.1
  EXPECT_FALSE(normalize_address(std::string(65, 'a') + "@x.test").ok());
}

class UserStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(user_db_path(dir_.str("data")));
    ASSERT_NE(store_, nullptr);
  }
  TempDir dir_;
  std::unique_ptr<UserStore> store_;
};

TEST_F(UserStoreTest, AddFindCaseInsensitive) {
  ASSERT_TRUE(store_->add(" Alice@X.Test ", "s3cret").ok());
  auto rec = store_->find("ALICE@x.test");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->address, "alice@x.test");
  EXPECT_EQ(rec->password_hash.rfind("$y$", 0), 0u);
  EXPECT_EQ(rec->quota_bytes, 0u);
  EXPECT_NEAR(static_cast<double>(rec->created_at), static_cast<double>(std::time(nullptr)), 60.0);
  EXPECT_TRUE(verify_password("s3cret", rec->password_hash));
  EXPECT_TRUE(store_->find("alice@X.TEST").ok());

  auto dup = store_->add("ALICE@x.test", "other");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message, "user alice@x.test already exists");
}

TEST_F(UserStoreTest, MissingUser) {
  EXPECT_FALSE(store_->find("bob@x.test").ok());
  EXPECT_FALSE(store_->find("bob@x.test").ok());
  auto del = store_->remove("Bob@x.test");
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().message, "no such user bob@x.test");
  auto pw = store_->set_password("bob@x.test", "whatever");
  ASSERT_FALSE(pw.ok());
  EXPECT_EQ(pw.error().message, "no such user bob@x.test");
}

// Defect 1d: a database failure is a temporary error, never "no such user".
TEST_F(UserStoreTest, DatabaseFailureIsNotNotFound) {
  ASSERT_TRUE(store_->add("alice@x.test", "pw").ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(user_db_path(dir_.str("data")).c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE users", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto r = store_->find("alice@x.test");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().code, ErrorCode::NotFound) << r.error().message;
  EXPECT_TRUE(r.error().temporary());
  auto missing = store_->list();
  EXPECT_FALSE(missing.ok());
}

TEST_F(UserStoreTest, InvalidAddressRejectedEverywhere) {
  for (const char* bad : {"bob", "bob@", "@x.test", "a b@x.test", "a@b@c"}) {
    EXPECT_FALSE(store_->add(bad, "pw").ok()) << bad;
    EXPECT_FALSE(store_->remove(bad).ok()) << bad;
    EXPECT_FALSE(store_->set_password(bad, "pw").ok()) << bad;
    EXPECT_FALSE(store_->find(bad).ok()) << bad;
  }
  auto list = store_->list();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(UserStoreTest, SetPasswordRemoveAndList) {
  ASSERT_TRUE(store_->add("carol@y.test", "old").ok());
  ASSERT_TRUE(store_->add("bob@x.test", "pw").ok());
  ASSERT_TRUE(store_->set_password("Carol@Y.test", "new").ok());
  auto rec = store_->find("carol@y.test");
  ASSERT_TRUE(rec.ok());
  EXPECT_TRUE(verify_password("new", rec->password_hash));
  EXPECT_FALSE(verify_password("old", rec->password_hash));

  auto list = store_->list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].address, "bob@x.test");  // sorted
  EXPECT_EQ((*list)[1].address, "carol@y.test");

  ASSERT_TRUE(store_->remove("BOB@x.test").ok());
  EXPECT_FALSE(store_->find("bob@x.test").ok());
  list = store_->list();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

// The CLI writes from another process while the server keeps its store open.
TEST_F(UserStoreTest, ChangesVisibleToSecondConnection) {
  auto other = open_store(user_db_path(dir_.str("data")));
  ASSERT_NE(other, nullptr);
  EXPECT_FALSE(store_->find("dave@x.test").ok());
  ASSERT_TRUE(other->add("dave@x.test", "pw").ok());
  EXPECT_TRUE(store_->find("dave@x.test").ok());
  ASSERT_TRUE(store_->remove("dave@x.test").ok());
  EXPECT_FALSE(other->find("dave@x.test").ok());
}

TEST_F(UserStoreTest, FilesArePrivate) {
  fs::path db = user_db_path(dir_.str("data"));
  EXPECT_EQ(file_mode(db), 0600u);
  EXPECT_EQ(file_mode(db.parent_path()), 0700u);
  ASSERT_TRUE(store_->add("erin@x.test", "pw").ok());
  fs::path wal = db.string() + "-wal";
  if (fs::exists(wal)) {
    EXPECT_EQ(file_mode(wal), 0600u);
  }

  // A database loosened by hand is tightened again on open.
  ASSERT_EQ(::chmod(db.c_str(), 0644), 0);
  auto again = open_store(db.string());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(file_mode(db), 0600u);
  EXPECT_TRUE(again->find("erin@x.test").ok());
}

TEST(UserStoreOpen, CreatesNestedDirsAndFailsReadably) {
  TempDir dir;
  auto nested = UserStore::open(dir.str("a/b/c/users.db"));
  ASSERT_TRUE(nested.ok()) << nested.error().message;
  EXPECT_EQ(file_mode(dir.path() / "a"), 0700u);
  EXPECT_EQ(file_mode(dir.path() / "a/b/c"), 0700u);

  // A regular file where the directory should be.
  ASSERT_TRUE(std::ofstream(dir.str("file")).good());
  auto bad = UserStore::open(dir.str("file/users.db"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("file"), std::string::npos) << bad.error().message;
}

TEST(UserStoreOpen, DbPath) {
  EXPECT_EQ(user_db_path("/var/lib/volley"), "/var/lib/volley/users.db");
  EXPECT_EQ(user_db_path(""), "users.db");
}

// ---- SASL ------------------------------------------------------------------

struct PlainCase {
  const char* name;
  std::string b64;
  bool ok;
  SaslError error;
  std::string authzid, authcid, password;
};

TEST(Sasl, PlainTable) {
  auto enc = [](std::string_view raw) { return base64_encode(raw); };
  const std::string f255(255, 'p'), f256(256, 'p');
  std::vector<PlainCase> cases = {
      {"valid", enc("\0alice\0secret"sv), true, {}, "", "alice", "secret"},
      {"authzid", enc("admin\0alice\0secret"sv), true, {}, "admin", "alice", "secret"},
      {"spaces kept", enc("\0alice\0 pass word "sv), true, {}, "", "alice", " pass word "},
      {"255-byte password", enc("\0alice\0"s + f255), true, {}, "", "alice", f255},
      {"one NUL", enc("alice\0secret"sv), false, SaslError::Malformed, "", "", ""},
      {"no NUL", enc("alicesecret"), false, SaslError::Malformed, "", "", ""},
      {"empty user", enc("\0\0secret"sv), false, SaslError::Malformed, "", "", ""},
      {"empty password", enc("\0alice\0"sv), false, SaslError::Malformed, "", "", ""},
      {"NUL inside password", enc("\0alice\0sec\0ret"sv), false, SaslError::Malformed, "", "", ""},
      {"256-byte password", enc("\0alice\0"s + f256), false, SaslError::Malformed, "", "", ""},
      {"256-byte authzid", enc(f256 + "\0alice\0pw"s), false, SaslError::Malformed, "", "", ""},
      {"empty message", "", false, SaslError::Malformed, "", "", ""},
      {"bad characters", "AGFsaWNl!!!!", false, SaslError::BadBase64, "", "", ""},
      {"bad length", "AGFsaWNlAHNlY3JldA", false, SaslError::BadBase64, "", "", ""},
      {"trailing garbage", enc("\0alice\0secret"sv) + "=", false, SaslError::BadBase64, "", "", ""},
      {"space in base64", "AGFs aWNl", false, SaslError::BadBase64, "", "", ""},
      {"cancel", "*", false, SaslError::Cancelled, "", "", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = decode_plain(c.b64);
    EXPECT_EQ(r.ok, c.ok);
    if (c.ok) {
      EXPECT_EQ(r.credentials.authzid, c.authzid);
      EXPECT_EQ(r.credentials.authcid, c.authcid);
      EXPECT_EQ(r.credentials.password, c.password);
    } else {
      EXPECT_EQ(r.error, c.error);
    }
  }
}

TEST(Sasl, LoginSteps) {
  auto user = decode_login_step(base64_encode("alice@x.test"));
  ASSERT_TRUE(user.ok);
  EXPECT_EQ(user.value, "alice@x.test");
  auto pass = decode_login_step(base64_encode(std::string(255, 'z')));
  ASSERT_TRUE(pass.ok);
  EXPECT_EQ(pass.value.size(), 255u);
  auto empty = decode_login_step("");  // the caller decides what empty means
  EXPECT_TRUE(empty.ok);
  EXPECT_TRUE(empty.value.empty());

  auto cancel = decode_login_step("*");
  EXPECT_FALSE(cancel.ok);
  EXPECT_EQ(cancel.error, SaslError::Cancelled);
  auto bad = decode_login_step("YWxp!2U=");
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.error, SaslError::BadBase64);
  auto nul = decode_login_step(base64_encode("ali\0ce"sv));
  EXPECT_FALSE(nul.ok);
  EXPECT_EQ(nul.error, SaslError::Malformed);
  auto longer = decode_login_step(base64_encode(std::string(256, 'z')));
  EXPECT_FALSE(longer.ok);
  EXPECT_EQ(longer.error, SaslError::Malformed);
}

// ---- throttle --------------------------------------------------------------

AuthThrottle::Settings throttle_settings(size_t max_entries = 1000) {
  AuthThrottle::Settings s;
  s.base_delay = 100ms;
  s.max_delay = 350ms;
  s.window = 1000ms;
  s.max_entries = max_entries;
  return s;
}

TEST(AuthThrottle, DelayGrowsLinearlyAndCaps) {
  AuthThrottle t(throttle_settings());
  auto t0 = AuthThrottle::Clock::time_point{} + 1h;
  EXPECT_EQ(t.failures("192.0.2.1", t0), 0u);
  EXPECT_EQ(t.record_failure("192.0.2.1", t0), 100ms);
  EXPECT_EQ(t.record_failure("192.0.2.1", t0 + 10ms), 200ms);
  EXPECT_EQ(t.record_failure("192.0.2.1", t0 + 20ms), 300ms);
  EXPECT_EQ(t.record_failure("192.0.2.1", t0 + 30ms), 350ms);
  EXPECT_EQ(t.record_failure("192.0.2.1", t0 + 40ms), 350ms);
  EXPECT_EQ(t.failures("192.0.2.1", t0 + 50ms), 5u);
  // Other addresses are unaffected.
  EXPECT_EQ(t.record_failure("192.0.2.2", t0 + 50ms), 100ms);
}

TEST(AuthThrottle, ExpiresAfterQuietWindow) {
  AuthThrottle t(throttle_settings());
  auto t0 = AuthThrottle::Clock::time_point{} + 1h;
  t.record_failure("2001:db8::1", t0);
  t.record_failure("2001:db8::1", t0 + 900ms);  // within the window of the last failure
  t.record_failure("2001:db8::1", t0 + 1800ms);
  EXPECT_EQ(t.failures("2001:db8::1", t0 + 2799ms), 3u);
  EXPECT_EQ(t.failures("2001:db8::1", t0 + 2800ms), 0u);
  EXPECT_EQ(t.record_failure("2001:db8::1", t0 + 2800ms), 100ms);  // starts over

  // Expiry also applies when the next event is a failure, not a query.
  EXPECT_EQ(t.record_failure("2001:db8::1", t0 + 5000ms), 100ms);
}

TEST(AuthThrottle, TableIsBounded) {
  AuthThrottle t(throttle_settings(16));
  auto t0 = AuthThrottle::Clock::time_point{} + 1h;
  for (int i = 0; i < 200; ++i) t.record_failure("10.0.0." + std::to_string(i), t0 + std::chrono::microseconds(i));
  int remembered = 0;
  auto later = t0 + 1ms;
  for (int i = 0; i < 200; ++i) remembered += t.failures("10.0.0." + std::to_string(i), later) > 0;
  EXPECT_LE(remembered, 16);
  EXPECT_GE(remembered, 1);
  EXPECT_EQ(t.failures("10.0.0.0", later), 0u);    // oldest evicted
  EXPECT_EQ(t.failures("10.0.0.199", later), 1u);  // newest kept
}

TEST(AuthThrottle, SettingsChangesAndEdgeCases) {
  AuthThrottle t(throttle_settings(0));  // nothing remembered, still delays
  auto t0 = AuthThrottle::Clock::time_point{} + 1h;
  EXPECT_EQ(t.record_failure("a", t0), 100ms);
  EXPECT_EQ(t.record_failure("a", t0), 100ms);
  EXPECT_EQ(t.failures("a", t0), 0u);

  AuthThrottle::Settings big;
  big.base_delay = 1ms;
  big.max_delay = 10000ms;
  t.update_settings(big);
  std::chrono::milliseconds d{};
  for (int i = 0; i < 20000; ++i) d = t.record_failure("b", t0);
  EXPECT_EQ(d, 10000ms);

  big.base_delay = 0ms;  // throttling disabled
  t.update_settings(big);
  EXPECT_EQ(t.record_failure("b", t0), 0ms);
}

TEST(AuthThrottle, ConcurrentFailuresAllCounted) {
  AuthThrottle t(throttle_settings());
  auto t0 = AuthThrottle::Clock::now();
  auto hammer = [&] {
    for (int i = 0; i < 2000; ++i) t.record_failure("198.51.100.7", t0);
  };
  std::thread a(hammer), b(hammer);
  a.join();
  b.join();
  EXPECT_EQ(t.failures("198.51.100.7", t0), 4000u);
}

// ---- volley user -----------------------------------------------------------

class UserCommandTest : public ::testing::Test {
 protected:
  struct Outcome {
    int code;
    std::string out, err;
  };
  Outcome run(const std::string& action, const std::string& address, const std::string& input = "",
              const admin::UserQuotaOptions& quota = {}) {
    std::istringstream in(input);
    std::ostringstream out, err;
    int code = admin::run_user_command(action, address, data_dir(), {"x.test", "one.test", "two.test"}, in, out, err, false,
                                       quota);
    return {code, out.str(), err.str()};
  }
  std::string data_dir() const { return dir_.str("data"); }
  std::optional<UserRecord> lookup(const std::string& address) {
    auto store = open_store(user_db_path(data_dir()));
    if (!store) return std::nullopt;
    auto found = store->find(address);
    return found ? std::optional<UserRecord>(found.value()) : std::nullopt;
  }
  TempDir dir_;
};

TEST_F(UserCommandTest, AddListPasswdDel) {
  auto add = run("add", "Alice@X.Test", "s3cret\r\nignored\n");
  EXPECT_EQ(add.code, 0) << add.err;
  EXPECT_EQ(add.out, "added alice@x.test\n");
  EXPECT_EQ(add.err, "");
  auto rec = lookup("alice@x.test");
  ASSERT_TRUE(rec.has_value());
  EXPECT_TRUE(verify_password("s3cret", rec->password_hash));  // \r\n stripped

  auto list = run("list", "");
  EXPECT_EQ(list.code, 0);
  EXPECT_EQ(list.out, "alice@x.test usage=0 messages=0 quota=unlimited\n");

  auto pw = run("passwd", "alice@x.test", "n3w pass\n");
  EXPECT_EQ(pw.code, 0) << pw.err;
  EXPECT_EQ(pw.out, "password changed for alice@x.test\n");
  rec = lookup("alice@x.test");
  ASSERT_TRUE(rec.has_value());
  EXPECT_TRUE(verify_password("n3w pass", rec->password_hash));

  auto del = run("del", "alice@x.test");
  EXPECT_EQ(del.code, 0) << del.err;
  EXPECT_EQ(del.out, "deleted alice@x.test\n");
  EXPECT_FALSE(lookup("alice@x.test").has_value());
}

TEST_F(UserCommandTest, AddFailures) {
  ASSERT_EQ(run("add", "alice@x.test", "pw").code, 0);  // no newline at EOF is fine

  auto dup = run("add", "ALICE@x.test", "other\n");
  EXPECT_EQ(dup.code, 1);
  EXPECT_EQ(dup.err, "volley: user add: user alice@x.test already exists\n");
  EXPECT_EQ(dup.out, "");

  auto empty = run("add", "bob@x.test", "\n");
  EXPECT_EQ(empty.code, 1);
  EXPECT_EQ(empty.err, "volley: user add: empty password\n");
  auto eof = run("add", "bob@x.test", "");
  EXPECT_EQ(eof.code, 1);
  EXPECT_EQ(eof.err, "volley: user add: no password given on standard input\n");
  EXPECT_FALSE(lookup("bob@x.test").has_value());

  auto missing = run("add", "", "pw\n");
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "volley: user add: missing USER@DOMAIN\n");
  auto invalid = run("add", "bob", "pw\n");
  EXPECT_EQ(invalid.code, 1);
  EXPECT_EQ(invalid.err.rfind("volley: user add: invalid address", 0), 0u) << invalid.err;

  auto nul = run("add", "carol@x.test", std::string("pa\0ss\n", 6));
  EXPECT_EQ(nul.code, 1);
  EXPECT_NE(nul.err.find("NUL"), std::string::npos) << nul.err;
}

TEST_F(UserCommandTest, MissingUsersAndUnknownAction) {
  // Without a database nothing is created, and nothing exists.
  auto list = run("list", "");
  EXPECT_EQ(list.code, 0);
  EXPECT_EQ(list.out, "");
  auto del = run("del", "ghost@x.test");
  EXPECT_EQ(del.code, 1);
  EXPECT_EQ(del.err, "volley: user del: no such user ghost@x.test\n");
  EXPECT_FALSE(fs::exists(data_dir()));

  ASSERT_EQ(run("add", "alice@x.test", "pw\n").code, 0);
  auto pw = run("passwd", "ghost@x.test", "pw\n");
  EXPECT_EQ(pw.code, 1);
  EXPECT_EQ(pw.err, "volley: user passwd: no such user ghost@x.test\n");
  del = run("del", "ghost@x.test");
  EXPECT_EQ(del.code, 1);
  EXPECT_EQ(del.err, "volley: user del: no such user ghost@x.test\n");

  auto bad = run("frobnicate", "alice@x.test");
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err.rfind("volley: user: unknown action", 0), 0u) << bad.err;
}

TEST_F(UserCommandTest, ListFilters) {
  ASSERT_EQ(run("add", "a@one.test", "pw\n").code, 0);
  ASSERT_EQ(run("add", "b@two.test", "pw\n").code, 0);
  ASSERT_EQ(run("add", "c@one.test", "pw\n").code, 0);

  const std::string none = " usage=0 messages=0 quota=unlimited\n";
  EXPECT_EQ(run("list", "").out, "a@one.test" + none + "b@two.test" + none + "c@one.test" + none);
  EXPECT_EQ(run("list", "ONE.test").out, "a@one.test" + none + "c@one.test" + none);
  EXPECT_EQ(run("list", "B@two.test").out, "b@two.test" + none);
  EXPECT_EQ(run("list", "ne.test").out, "");  // whole domains only

  // A quota stored directly (an older database) is shown.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(user_db_path(data_dir()).c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE users SET quota_bytes = 1048576 WHERE address = 'a@one.test'", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(run("list", "one.test").out, "a@one.test usage=0 messages=0 quota=1048576 (user)\nc@one.test" + none);

  auto missing = run("list", "z@one.test");
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "volley: user list: no such user z@one.test\n");
}

TEST_F(UserCommandTest, QuotaOnAddAndQuotaCommandAndUsageInList) {
  admin::UserQuotaOptions q;
  q.quota = "500MB";
  q.default_quota = 1000;
  auto add = run("add", "alice@x.test", "pw\n", q);
  ASSERT_EQ(add.code, 0) << add.err;
  EXPECT_EQ(lookup("alice@x.test")->quota_bytes, 500u * 1024 * 1024);

  // Usage comes from the mailbox (maildirsize, recalculated when missing).
  const std::string box = data_dir() + "/mail/x.test/alice";
  fs::create_directories(box + "/new");
  std::ofstream(box + "/new/1.M1P1.h,S=1234") << "x";
  admin::UserQuotaOptions list_opts;
  list_opts.default_quota = 1000;
  EXPECT_EQ(run("list", "alice@x.test", "", list_opts).out,
            "alice@x.test usage=1234 messages=1 quota=524288000 (user)\n");

  q.quota = "0";
  auto back = run("quota", "alice@x.test", "", q);
  EXPECT_EQ(back.code, 0) << back.err;
  EXPECT_EQ(back.out, "quota of alice@x.test is the default (mailbox.quota)\n");
  EXPECT_EQ(run("list", "alice@x.test", "", list_opts).out, "alice@x.test usage=1234 messages=1 quota=1000 (default)\n");

  q.quota = "2k";
  auto set = run("quota", "alice@x.test", "", q);
  EXPECT_EQ(set.code, 0) << set.err;
  EXPECT_EQ(set.out, "quota of alice@x.test set to 2048 bytes\n");

  q.quota = "lots";
  auto bad = run("quota", "alice@x.test", "", q);
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err.rfind("volley: user quota: bad --quota \"lots\"", 0), 0u) << bad.err;
  auto missing_opt = run("quota", "alice@x.test");
  EXPECT_EQ(missing_opt.code, 1);
  q.quota = "1MB";
  auto ghost = run("quota", "ghost@x.test", "", q);
  EXPECT_EQ(ghost.code, 1);
  EXPECT_EQ(ghost.err, "volley: user quota: no such user ghost@x.test\n");
}
