#include "auth/user_store.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "auth/password.hpp"
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

// Owns one prepared statement. Every query goes through bound parameters, so
// an address can never change the SQL.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }
  bool bind_text(int index, const std::string& v) {
    return sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) == SQLITE_OK;
  }
  bool bind_int64(int index, int64_t v) { return sqlite3_bind_int64(stmt_, index, v) == SQLITE_OK; }
  int step() { return sqlite3_step(stmt_); }
  std::string column_text(int col) {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  int64_t column_int64(int col) { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Storage failures are temporary (ErrorCode::Io): a locked or unreadable
// database must never look like "no such user".
Error db_error(sqlite3* db, std::string_view what) {
  return make_error(ErrorCode::Io, "users database: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

// Creates each missing component of `dir` with mode 0700: the directory holds
// password hashes and, later, mail, so nobody else needs to list it.
Result<void> make_private_dirs(const std::filesystem::path& dir) {
  if (dir.empty()) return {};
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) == 0 || errno == EEXIST) continue;
    return make_error("cannot create directory " + partial.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return make_error(dir.string() + " is not a directory");
  return {};
}

// Creates the file with mode 0600 before SQLite opens it (SQLite would use
// 0644 and leave a window where it is world-readable) and tightens the mode of
// an existing one. O_NOFOLLOW: a planted symlink must not redirect us.
// SQLite gives its -wal and -shm files the same mode as the database.
Result<void> create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return make_error("cannot open " + path + ": " + std::strerror(errno));
  int rc = ::fchmod(fd, 0600);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return make_error("cannot chmod " + path + ": " + std::strerror(saved));
  return {};
}

Result<void> init_connection(sqlite3* db) {
  sqlite3_extended_result_codes(db, 1);
  // Another process (the CLI, the server) may hold the write lock briefly.
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers never block the writer and vice versa.
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK)
    return db_error(db, "enabling WAL");
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) return db_error(db, "creating schema");
  return {};
}

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
  if (auto r = make_private_dirs(std::filesystem::path(path).parent_path()); !r) return r.error();
  if (auto r = create_private_file(path); !r) return r.error();

  sqlite3* db = nullptr;
  // Not SQLITE_OPEN_NOFOLLOW: it refuses a symlink anywhere in the path, and
  // a data_dir symlinked to another volume is a normal setup. The file itself
  // was already checked by create_private_file.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string msg = "cannot open users database " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    return make_error(msg);
  }
  if (auto r = init_connection(db); !r) {
    Error e{r.error().message + " (" + path + ")"};
    sqlite3_close_v2(db);
    return e;
  }
  return std::unique_ptr<UserStore>(new UserStore(db));
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
  Statement st(db_, "PRAGMA data_version");
  if (!st.ok()) return db_error(db_, "preparing data_version");
  if (st.step() != SQLITE_ROW) return db_error(db_, "reading data_version");
  return static_cast<uint64_t>(st.column_int64(0));
}

}  // namespace volley::auth
