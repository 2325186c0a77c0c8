// HTTP API keys in SQLite (data_dir/apikeys.db, WAL, like users.db): the
// durable store `volley apikey ...` writes. A key is shown once, at
// creation; only its SHA-256 is stored. A salted slow hash (as for
// passwords) buys nothing here: the key is 256 random bits, so its hash
// cannot be reversed by guessing, and a fast hash lets every request be
// checked in microseconds. The daemon reads the store only through
// ApiKeyDirectory (api_key_directory.hpp), off the I/O threads.
// Thread-safe (one connection guarded by a mutex).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace volley::auth {

struct ApiKeyRecord {
  std::string name;
  std::string scope;       // "read" | "send" | "admin"
  std::string hash;        // 32 raw bytes: SHA-256 of the key
  int64_t created_at = 0;  // unix seconds
  int64_t revoked_at = 0;  // 0: active
};

// Key text: "vk_" + 43 characters of base64url (32 random bytes).
inline constexpr std::string_view kApiKeyPrefix = "vk_";
inline constexpr size_t kApiKeyRandomBytes = 32;
inline constexpr size_t kApiKeyLength = 3 + 43;
// A name appears in logs and `apikey list`: 1..64 of letters, digits, '-', '_', '.'.
inline constexpr size_t kMaxApiKeyNameLength = 64;

bool valid_api_key_name(std::string_view name);
bool valid_api_key_scope(std::string_view scope);
// A new random key (RAND_bytes). Fails only when the RNG does.
Result<std::string> generate_api_key();
// SHA-256 of the key text, 32 raw bytes.
std::string api_key_hash(std::string_view key);

class ApiKeyStore {
 public:
  static Result<std::unique_ptr<ApiKeyStore>> open(const std::string& path);
  ~ApiKeyStore();
  ApiKeyStore(const ApiKeyStore&) = delete;
  ApiKeyStore& operator=(const ApiKeyStore&) = delete;

  // Creates a key; returns its text (the only time it exists outside the
  // caller's hands). AlreadyExists when the name is taken (even by a
  // revoked key: names stay unique so logs stay unambiguous); Invalid for a
  // bad name or scope.
  Result<std::string> create(const std::string& name, const std::string& scope);
  // NotFound when no such key; a key already revoked stays revoked (ok).
  Result<void> revoke(const std::string& name);
  Result<std::vector<ApiKeyRecord>> list();
  Result<uint64_t> data_version();

 private:
  explicit ApiKeyStore(sqlite3* db);
  std::mutex mu_;
  sqlite3* db_;
};

std::string api_key_db_path(const std::string& data_dir);

}  // namespace volley::auth
