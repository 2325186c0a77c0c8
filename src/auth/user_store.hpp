// Mailbox users in SQLite (data_dir/users.db): the durable store that
// `volley user ...` writes. The daemon never queries it from a network
// thread: auth::UserDirectory (user_directory.hpp) keeps an in-memory
// snapshot and re-reads the store on a background thread when data_version()
// changes. Thread-safe (one connection guarded by a mutex; SQLite in WAL mode
// so the CLI can write while the server reads).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/user_name.hpp"
#include "util/result.hpp"

struct sqlite3;

namespace volley::auth {

struct UserRecord {
  std::string address;       // lowercased user@domain
  std::string password_hash; // "$y$..."
  uint64_t quota_bytes = 0;  // 0 = the default (mailbox.quota)
  int64_t created_at = 0;    // unix seconds
};

class UserStore {
 public:
  // Opens (creating if needed, mode 0600) the database at `path`; creates the
  // schema. Fails with a readable reason.
  static Result<std::unique_ptr<UserStore>> open(const std::string& path);
  ~UserStore();
  UserStore(const UserStore&) = delete;
  UserStore& operator=(const UserStore&) = delete;

  // Addresses are normalised (normalize_address); add() also requires a
  // mailbox name (normalize_user_name).
  Result<void> add(const std::string& address, std::string_view password,
                   uint64_t quota_bytes = 0);  // error if exists
  Result<void> remove(const std::string& address);                           // error if missing
  Result<void> set_password(const std::string& address, std::string_view password);  // error if missing
  // The user's own quota in bytes; 0 = use the default (mailbox.quota). Error if missing.
  Result<void> set_quota(const std::string& address, uint64_t quota_bytes);
  Result<std::vector<UserRecord>> list();
  // Lookup. Error NotFound: definitely no such user; any other error is a
  // storage failure (temporary), never to be read as "no such user".
  Result<UserRecord> find(const std::string& address);
  // SQLite's PRAGMA data_version: changes whenever another connection (the
  // CLI) committed a change to the database since the last call.
  Result<uint64_t> data_version();

 private:
  explicit UserStore(sqlite3* db);
  std::mutex mu_;
  sqlite3* db_;
};

// The conventional path under a data directory.
std::string user_db_path(const std::string& data_dir);

}  // namespace volley::auth
