// The daemon's view of the API keys: an immutable in-memory snapshot of the
// active keys, swapped whole, so checking a request's key on an I/O thread
// never waits on SQLite. A background thread asks the store every second
// whether anything changed (PRAGMA data_version) and re-reads it when it
// did, so `volley apikey revoke` takes effect within a second or two. A
// failed refresh keeps the last good snapshot; with none at all every check
// answers a temporary error (503), never "bad key".
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/api_key_store.hpp"
#include "util/result.hpp"

namespace volley::auth {

// How often the refresher looks for changes: a revoked key must stop
// working within ~1-2 s.
inline constexpr std::chrono::milliseconds kApiKeyRefreshInterval{1000};

struct ApiKey {
  std::string name;
  std::string scope;  // "read" | "send" | "admin"
  std::string hash;   // SHA-256 of the key
};

class ApiKeySnapshot {
 public:
  explicit ApiKeySnapshot(std::vector<ApiKeyRecord> records);  // keeps the active ones
  // The key whose hash matches `presented`'s, comparing with every key in
  // constant time (CRYPTO_memcmp, no early exit), so response times say
  // nothing about how close a guess came.
  const ApiKey* find(std::string_view presented) const;
  size_t size() const { return keys_.size(); }
  const std::vector<ApiKey>& keys() const { return keys_; }

 private:
  std::vector<ApiKey> keys_;
};

class ApiKeyDirectory {
 public:
  explicit ApiKeyDirectory(std::string db_path);
  ~ApiKeyDirectory();  // stops the refresher
  ApiKeyDirectory(const ApiKeyDirectory&) = delete;
  ApiKeyDirectory& operator=(const ApiKeyDirectory&) = delete;

  // Re-reads the store when it changed (or always, with `force`). Blocking:
  // never on an I/O thread. Failures are logged once and keep the snapshot.
  Result<void> refresh(bool force = false);
  void start(std::chrono::milliseconds interval = kApiKeyRefreshInterval);

  // Ok: the key. NotFound: no such active key. Temporary: keys not loaded.
  Result<ApiKey> authenticate(std::string_view presented) const;
  // The active keys now (null until loaded).
  std::shared_ptr<const ApiKeySnapshot> snapshot() const;

 private:
  void run(std::chrono::milliseconds interval);

  std::string path_;
  std::mutex refresh_mu_;
  std::unique_ptr<ApiKeyStore> store_;
  std::optional<uint64_t> loaded_version_;
  std::string last_error_;

  mutable std::mutex snapshot_mu_;
  std::shared_ptr<const ApiKeySnapshot> snapshot_;

  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace volley::auth
