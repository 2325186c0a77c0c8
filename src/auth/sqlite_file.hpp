// What every small SQLite store of the daemon's state shares (users.db,
// apikeys.db): a private file (0600, in 0700 directories, no symlink
// planted in its place), WAL so the CLI writes while the daemon reads, a
// busy timeout, and prepared statements with bound parameters only.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace volley::auth {

// Owns one prepared statement. Every query goes through bound parameters, so
// client-supplied text can never change the SQL.
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
// database must never look like "no such user/key". `label`: "users database".
Error db_error(sqlite3* db, std::string_view label, std::string_view what);

// Opens (creating if needed, mode 0600, parent directories 0700) the
// database at `path` in WAL mode and runs `schema` (CREATE ... IF NOT EXISTS).
Result<sqlite3*> open_private_database(const std::string& path, const char* schema, std::string_view label);

// SQLite's PRAGMA data_version: changes whenever another connection (the
// CLI) committed a change since the last call on this connection.
Result<uint64_t> read_data_version(sqlite3* db, std::string_view label);

}  // namespace volley::auth
