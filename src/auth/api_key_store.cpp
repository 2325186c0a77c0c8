#include "auth/api_key_store.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <ctime>

#include "util/sqlite.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace volley::auth {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS api_keys("
    " name TEXT PRIMARY KEY,"
    " scope TEXT NOT NULL,"
    " key_hash BLOB NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL DEFAULT 0)";

constexpr std::string_view kLabel = "api keys database";

Error db_error(sqlite3* db, std::string_view what) { return sqlite_error(db, kLabel, what); }

std::string base64url_unpadded(std::string_view raw) {
  std::string s = base64_encode(raw);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

}  // namespace

bool valid_api_key_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxApiKeyNameLength) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return false;
  return true;
}

bool valid_api_key_scope(std::string_view s) { return s == "read" || s == "send" || s == "admin"; }

Result<std::string> generate_api_key() {
  unsigned char raw[kApiKeyRandomBytes];
  if (RAND_bytes(raw, sizeof raw) != 1) return make_error("random number generator failed");
  std::string key(kApiKeyPrefix);
  key += base64url_unpadded(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  return key;
}

std::string api_key_hash(std::string_view key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key.data(), key.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string api_key_db_path(const std::string& data_dir) {
  if (data_dir.empty()) return "apikeys.db";
  return data_dir + "/apikeys.db";
}

ApiKeyStore::ApiKeyStore(sqlite3* db) : db_(db) {}
ApiKeyStore::~ApiKeyStore() { sqlite3_close_v2(db_); }

Result<std::unique_ptr<ApiKeyStore>> ApiKeyStore::open(const std::string& path) {
  auto db = open_private_database(path, kLabel, kSchema);
  if (!db) return db.error();
  return std::unique_ptr<ApiKeyStore>(new ApiKeyStore(db.value()));
}

Result<std::string> ApiKeyStore::create(const std::string& name, const std::string& scope) {
  if (!valid_api_key_name(name))
    return make_error(ErrorCode::Invalid, "bad name: use 1..64 letters, digits, '-', '_' or '.'");
  if (!valid_api_key_scope(scope)) return make_error(ErrorCode::Invalid, "bad scope: use send, read or admin");
  auto key = generate_api_key();
  if (!key) return key.error();
  const std::string hash = api_key_hash(*key);

  std::lock_guard lock(mu_);
  SqlStatement st(db_, "INSERT INTO api_keys(name, scope, key_hash, created_at) VALUES(?1, ?2, ?3, ?4)");
  if (!st.ok()) return db_error(db_, "preparing insert");
  st.bind_text(1, name);
  st.bind_text(2, scope);
  sqlite3_bind_blob(st.get(), 3, hash.data(), static_cast<int>(hash.size()), SQLITE_TRANSIENT);
  st.bind_int64(4, static_cast<int64_t>(std::time(nullptr)));
  const int rc = st.step();
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
    return make_error(ErrorCode::AlreadyExists, concat("a key named ", name, " already exists"));
  if (rc != SQLITE_DONE) return db_error(db_, "adding key");
  return key;
}

Result<void> ApiKeyStore::revoke(const std::string& name) {
  std::lock_guard lock(mu_);
  SqlStatement st(db_, "UPDATE api_keys SET revoked_at = ?2 WHERE name = ?1 AND revoked_at = 0");
  if (!st.ok()) return db_error(db_, "preparing revoke");
  st.bind_text(1, name);
  st.bind_int64(2, static_cast<int64_t>(std::time(nullptr)));
  if (st.step() != SQLITE_DONE) return db_error(db_, "revoking key");
  if (sqlite3_changes(db_) > 0) return {};
  SqlStatement exists(db_, "SELECT 1 FROM api_keys WHERE name = ?1");
  if (!exists.ok()) return db_error(db_, "preparing lookup");
  exists.bind_text(1, name);
  const int rc = exists.step();
  if (rc == SQLITE_ROW) return {};
  if (rc == SQLITE_DONE) return make_error(ErrorCode::NotFound, concat("no key named ", name));
  return db_error(db_, "looking up key");
}

Result<std::vector<ApiKeyRecord>> ApiKeyStore::list() {
  std::lock_guard lock(mu_);
  SqlStatement st(db_, "SELECT name, scope, key_hash, created_at, revoked_at FROM api_keys ORDER BY name");
  if (!st.ok()) return db_error(db_, "preparing list");
  std::vector<ApiKeyRecord> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
    ApiKeyRecord r;
    r.name = st.column_text(0);
    r.scope = st.column_text(1);
    const void* blob = sqlite3_column_blob(st.get(), 2);
    const int n = sqlite3_column_bytes(st.get(), 2);
    if (blob && n > 0) r.hash.assign(static_cast<const char*>(blob), static_cast<size_t>(n));
    r.created_at = st.column_int64(3);
    r.revoked_at = st.column_int64(4);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return db_error(db_, "listing keys");
  return out;
}

Result<uint64_t> ApiKeyStore::data_version() {
  std::lock_guard lock(mu_);
  return sqlite_data_version(db_, kLabel);
}

}  // namespace volley::auth
