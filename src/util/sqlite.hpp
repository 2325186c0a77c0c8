// The small SQLite layer every store uses (users, API keys, the platform's
// suppressions, events and message history): one private database file per
// store, opened the same way, and one prepared-statement wrapper, so every
// query goes through bound parameters and an address can never change the SQL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace volley {

class SqlStatementCache;

// One prepared statement: its own (finalized at the end), or borrowed from a
// SqlStatementCache (reset and handed back at the end).
class SqlStatement {
 public:
  SqlStatement(sqlite3* db, const char* sql);
  SqlStatement(SqlStatementCache& cache, const char* sql);
  ~SqlStatement();
  SqlStatement(const SqlStatement&) = delete;
  SqlStatement& operator=(const SqlStatement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }
  bool bind_text(int index, std::string_view v);
  bool bind_int64(int index, int64_t v);
  int step();  // SQLITE_ROW, SQLITE_DONE or an error code
  bool reset();  // for the next step() with new bindings
  std::string column_text(int col);
  int64_t column_int64(int col);

 private:
  sqlite3_stmt* stmt_ = nullptr;
  bool* borrowed_ = nullptr;  // the cache entry's flag, when borrowed
};

// Prepared statements kept for reuse on one connection, keyed by their SQL
// text: preparing is most of a simple query's cost (a campaign looked up a
// suppression and wrote history per recipient, and a quarter of its time
// went to SQLite's parser). Guarded by whatever guards the connection; a
// statement already borrowed (a query nested in another's loop) is
// prepared afresh, and at most kMaxCached texts are kept.
class SqlStatementCache {
 public:
  static constexpr size_t kMaxCached = 64;
  explicit SqlStatementCache(sqlite3* db) : db_(db) {}
  ~SqlStatementCache();  // finalizes them all: before the connection closes
  SqlStatementCache(const SqlStatementCache&) = delete;
  SqlStatementCache& operator=(const SqlStatementCache&) = delete;
  sqlite3* db() const { return db_; }

 private:
  friend class SqlStatement;
  struct Entry {
    sqlite3_stmt* stmt = nullptr;
    bool borrowed = false;
  };
  // The cached statement for `sql`, marked borrowed (`flag` points at the
  // mark: entries never move); null when it is borrowed already, cannot be
  // prepared, or the cache is full.
  sqlite3_stmt* borrow(const char* sql, bool*& flag);

  sqlite3* db_;
  std::unordered_map<std::string, Entry> entries_;
};

// Storage failures are temporary (ErrorCode::Io): a locked or unreadable
// database must never look like "no such user" or "not suppressed".
Error sqlite_error(sqlite3* db, std::string_view store, std::string_view what);

// Opens (creating if needed) the database at `path` for `store` ("users
// database" ...): missing parent directories are made 0700 and the file 0600
// before SQLite touches it (SQLite would use 0644 and leave a window where it
// is world-readable); WAL (readers never block the writer, the CLI can write
// while the server reads); a busy timeout for another process's short write
// lock; then `schema` (CREATE ... IF NOT EXISTS statements). Close the handle
// with sqlite3_close_v2.
Result<sqlite3*> open_private_database(const std::string& path, std::string_view store, const char* schema);

// Runs `sql` (no parameters, no rows wanted): BEGIN, COMMIT, PRAGMA ...
Result<void> sql_exec(sqlite3* db, std::string_view store, const char* sql);

// PRAGMA data_version: changes when another connection committed, so a
// snapshot of the table knows it must re-read.
Result<uint64_t> sqlite_data_version(sqlite3* db, std::string_view store);

}  // namespace volley
