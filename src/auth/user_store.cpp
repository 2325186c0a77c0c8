#include "auth/user_store.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <ctime>

#include "auth/password.hpp"
#include "auth/sqlite_file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::auth {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS users("
    " address TEXT PRIMARY KEY,"
    " password_hash TEXT NOT NULL,"
    " quota_bytes INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL)";

constexpr std::string_view kLabel = "users database";

Error db_error(sqlite3* db, std::string_view what) { return auth::db_error(db, kLabel, what); }

UserRecord read_record(Statement& st) {
  UserRecord r;
  r.address = st.column_text(0);
  r.password_hash = st.column_text(1);
  int64_t quota = st.column_int64(2);
  r.quota_bytes = quota > 0 ? static_cast<uint64_t>(quota) : 0;
  r.created_at = st.column_int64(3);
  return r;
}

}  // namespace

std::string user_db_path(const std::string& data_dir) {
  // An empty data_dir means "here", not the filesystem root.
  if (data_dir.empty()) return "users.db";
  return data_dir + "/users.db";
}

UserStore::UserStore(sqlite3* db) : db_(db) {}

UserStore::~UserStore() { sqlite3_close_v2(db_); }

Result<std::unique_ptr<UserStore>> UserStore::open(const std::string& path) {
  auto db = open_private_database(path, kSchema, kLabel);
  if (!db) return db.error();
  return std::unique_ptr<UserStore>(new UserStore(db.value()));
}

Result<void> UserStore::add(const std::string& address, std::string_view password, uint64_t quota_bytes) {
  auto addr = normalize_user_name(address);
  if (!addr) return addr.error();
  if (quota_bytes > static_cast<uint64_t>(INT64_MAX)) return make_error(ErrorCode::Invalid, "quota too large");
  // Hash before taking the lock: it is slow and touches no shared state.
  auto hash = hash_password(password);
  if (!hash) return hash.error();

  std::lock_guard lock(mu_);
  Statement st(db_, "INSERT INTO users(address, password_hash, quota_bytes, created_at) VALUES(?1, ?2, ?4, ?3)");
  if (!st.ok()) return db_error(db_, "preparing insert");
  st.bind_text(1, *addr);
  st.bind_text(2, *hash);
  st.bind_int64(3, static_cast<int64_t>(std::time(nullptr)));
  st.bind_int64(4, static_cast<int64_t>(quota_bytes));
  int rc = st.step();
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
    return make_error(ErrorCode::AlreadyExists, "user " + *addr + " already exists");
  if (rc != SQLITE_DONE) return db_error(db_, "adding user");
  return {};
}

Result<void> UserStore::remove(const std::string& address) {
  // A name that no longer parses (stored before names were checked) can
  // still be deleted by its exact lowercased text.
  auto addr = normalize_address(address);
  if (!addr) addr = to_lower(trim(address));
  if (addr->empty()) return make_error(ErrorCode::Invalid, "missing USER@DOMAIN");

  std::lock_guard lock(mu_);
  Statement st(db_, "DELETE FROM users WHERE address = ?1");
  if (!st.ok()) return db_error(db_, "preparing delete");
  st.bind_text(1, *addr);
  if (st.step() != SQLITE_DONE) return db_error(db_, "deleting user");
  if (sqlite3_changes(db_) == 0) return make_error(ErrorCode::NotFound, "no such user " + *addr);
  return {};
}

Result<void> UserStore::set_password(const std::string& address, std::string_view password) {
  auto addr = normalize_address(address);
  if (!addr) return addr.error();
  auto hash = hash_password(password);
  if (!hash) return hash.error();

  std::lock_guard lock(mu_);
  Statement st(db_, "UPDATE users SET password_hash = ?2 WHERE address = ?1");
  if (!st.ok()) return db_error(db_, "preparing update");
  st.bind_text(1, *addr);
  st.bind_text(2, *hash);
  if (st.step() != SQLITE_DONE) return db_error(db_, "updating password");
  if (sqlite3_changes(db_) == 0) return make_error(ErrorCode::NotFound, "no such user " + *addr);
  return {};
}

Result<void> UserStore::set_quota(const std::string& address, uint64_t quota_bytes) {
  auto addr = normalize_address(address);
  if (!addr) return addr.error();
  if (quota_bytes > static_cast<uint64_t>(INT64_MAX)) return make_error(ErrorCode::Invalid, "quota too large");

  std::lock_guard lock(mu_);
  Statement st(db_, "UPDATE users SET quota_bytes = ?2 WHERE address = ?1");
  if (!st.ok()) return db_error(db_, "preparing update");
  st.bind_text(1, *addr);
  st.bind_int64(2, static_cast<int64_t>(quota_bytes));
  if (st.step() != SQLITE_DONE) return db_error(db_, "updating quota");
  if (sqlite3_changes(db_) == 0) return make_error(ErrorCode::NotFound, "no such user " + *addr);
  return {};
}

Result<std::vector<UserRecord>> UserStore::list() {
  std::lock_guard lock(mu_);
  Statement st(db_, "SELECT address, password_hash, quota_bytes, created_at FROM users ORDER BY address");
  if (!st.ok()) return db_error(db_, "preparing list");
  std::vector<UserRecord> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(read_record(st));
  if (rc != SQLITE_DONE) return db_error(db_, "listing users");
  return out;
}

Result<UserRecord> UserStore::find(const std::string& address) {
  auto addr = normalize_address(address);
  if (!addr) return make_error(ErrorCode::NotFound, addr.error().message);

  std::lock_guard lock(mu_);
  Statement st(db_, "SELECT address, password_hash, quota_bytes, created_at FROM users WHERE address = ?1");
  if (!st.ok()) return db_error(db_, "preparing find");
  st.bind_text(1, *addr);
  int rc = st.step();
  if (rc == SQLITE_ROW) return read_record(st);
  if (rc == SQLITE_DONE) return make_error(ErrorCode::NotFound, "no such user " + *addr);
  return db_error(db_, "finding user");
}

Result<uint64_t> UserStore::data_version() {
  std::lock_guard lock(mu_);
  return read_data_version(db_, kLabel);
}

}  // namespace volley::auth
