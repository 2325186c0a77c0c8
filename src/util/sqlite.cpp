#include "util/sqlite.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "util/strings.hpp"

namespace volley {
namespace {

// Creates each missing component of `dir` with mode 0700: data_dir holds
// password hashes, keys and mail, so nobody else needs to list it.
Result<void> make_private_dirs(const std::filesystem::path& dir) {
  if (dir.empty()) return {};
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) == 0 || errno == EEXIST) continue;
    return make_error(concat("cannot create directory ", partial.string(), ": ", std::strerror(errno)));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return make_error(concat(dir.string(), " is not a directory"));
  return {};
}

// O_NOFOLLOW: a planted symlink must not redirect us. SQLite gives its -wal
// and -shm files the same mode as the database.
Result<void> create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return make_error(concat("cannot open ", path, ": ", std::strerror(errno)));
  int rc = ::fchmod(fd, 0600);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return make_error(concat("cannot chmod ", path, ": ", std::strerror(saved)));
  return {};
}

}  // namespace

SqlStatement::SqlStatement(sqlite3* db, const char* sql) {
  if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
}
SqlStatement::SqlStatement(SqlStatementCache& cache, const char* sql) {
  stmt_ = cache.borrow(sql, borrowed_);
  if (!stmt_ && sqlite3_prepare_v2(cache.db(), sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
}
SqlStatement::~SqlStatement() {
  if (!borrowed_) {
    sqlite3_finalize(stmt_);
    return;
  }
  // Handed back reset: ends a read (so the WAL can be checkpointed past it)
  // and clears the bound values (no address outlives its query in memory).
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  *borrowed_ = false;
}

SqlStatementCache::~SqlStatementCache() {
  for (auto& [sql, e] : entries_) sqlite3_finalize(e.stmt);
}

sqlite3_stmt* SqlStatementCache::borrow(const char* sql, bool*& flag) {
  auto it = entries_.find(sql);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxCached) return nullptr;
    sqlite3_stmt* stmt = nullptr;
    // PERSISTENT: SQLite's hint that the statement lives long.
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return nullptr;
    }
    it = entries_.emplace(sql, Entry{stmt, false}).first;
  }
  if (it->second.borrowed) return nullptr;
  it->second.borrowed = true;
  flag = &it->second.borrowed;
  return it->second.stmt;
}

bool SqlStatement::bind_text(int index, std::string_view v) {
  return sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) == SQLITE_OK;
}
bool SqlStatement::bind_int64(int index, int64_t v) { return sqlite3_bind_int64(stmt_, index, v) == SQLITE_OK; }
int SqlStatement::step() { return sqlite3_step(stmt_); }
bool SqlStatement::reset() { return sqlite3_reset(stmt_) == SQLITE_OK && sqlite3_clear_bindings(stmt_) == SQLITE_OK; }
std::string SqlStatement::column_text(int col) {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}
int64_t SqlStatement::column_int64(int col) { return sqlite3_column_int64(stmt_, col); }

Error sqlite_error(sqlite3* db, std::string_view store, std::string_view what) {
  return make_error(ErrorCode::Io, concat(store, ": ", what, ": ", db ? sqlite3_errmsg(db) : "out of memory"));
}

Result<sqlite3*> open_private_database(const std::string& path, std::string_view store, const char* schema) {
  if (auto r = make_private_dirs(std::filesystem::path(path).parent_path()); !r) return r.error();
  if (auto r = create_private_file(path); !r) return r.error();

  sqlite3* db = nullptr;
  // Not SQLITE_OPEN_NOFOLLOW: it refuses a symlink anywhere in the path, and
  // a data_dir symlinked to another volume is a normal setup. The file itself
  // was already checked by create_private_file.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Error e = make_error(concat("cannot open ", store, " ", path, ": ", db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close_v2(db);
    return e;
  }
  sqlite3_extended_result_codes(db, 1);
  // Another process (the CLI, the server) may hold the write lock briefly.
  sqlite3_busy_timeout(db, 5000);
  const char* failed = nullptr;
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK)
    failed = "enabling WAL";
  else if (sqlite3_exec(db, schema, nullptr, nullptr, nullptr) != SQLITE_OK)
    failed = "creating schema";
  if (failed) {
    Error e = sqlite_error(db, store, failed);
    e.message += concat(" (", path, ")");
    sqlite3_close_v2(db);
    return e;
  }
  return db;
}

Result<void> sql_exec(sqlite3* db, std::string_view store, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return sqlite_error(db, store, sql);
  return {};
}

Result<uint64_t> sqlite_data_version(sqlite3* db, std::string_view store) {
  SqlStatement st(db, "PRAGMA data_version");
  if (!st.ok()) return sqlite_error(db, store, "preparing data_version");
  if (st.step() != SQLITE_ROW) return sqlite_error(db, store, "reading data_version");
  return static_cast<uint64_t>(st.column_int64(0));
}

}  // namespace volley
