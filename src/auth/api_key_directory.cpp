#include "auth/api_key_directory.hpp"

#include <openssl/crypto.h>

#include "util/log.hpp"

namespace volley::auth {

ApiKeySnapshot::ApiKeySnapshot(std::vector<ApiKeyRecord> records) {
  for (auto& r : records) {
    if (r.revoked_at != 0 || r.hash.size() != 32 || !valid_api_key_scope(r.scope)) continue;
    keys_.push_back(ApiKey{std::move(r.name), std::move(r.scope), std::move(r.hash)});
  }
}

const ApiKey* ApiKeySnapshot::find(std::string_view presented) const {
  const std::string hash = api_key_hash(presented);
  const ApiKey* found = nullptr;
  for (const ApiKey& k : keys_)
    if (CRYPTO_memcmp(k.hash.data(), hash.data(), hash.size()) == 0) found = &k;
  return found;
}

ApiKeyDirectory::ApiKeyDirectory(std::string db_path) : path_(std::move(db_path)) {}

ApiKeyDirectory::~ApiKeyDirectory() {
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<void> ApiKeyDirectory::refresh(bool force) {
  std::lock_guard lock(refresh_mu_);
  auto failed = [&](const Error& e) -> Result<void> {
    store_.reset();  // reopened next time: data_version is per connection
    loaded_version_.reset();
    if (e.message != last_error_) log::error("apikeys.refresh_failed").kv("error", e.message);
    last_error_ = e.message;
    return e;
  };
  if (!store_) {
    auto opened = ApiKeyStore::open(path_);
    if (!opened) return failed(make_error(ErrorCode::Io, opened.error().message));
    store_ = std::move(opened.value());
  }
  auto version = store_->data_version();
  if (!version) return failed(version.error());
  if (!force && loaded_version_ && *loaded_version_ == *version) return {};
  auto records = store_->list();
  if (!records) return failed(records.error());
  auto next = std::make_shared<const ApiKeySnapshot>(std::move(records.value()));
  const size_t count = next->size();
  {
    std::lock_guard swap_lock(snapshot_mu_);
    snapshot_ = std::move(next);
  }
  loaded_version_ = *version;
  last_error_.clear();
  log::info("apikeys.loaded").kv("active_keys", static_cast<uint64_t>(count));
  return {};
}

void ApiKeyDirectory::start(std::chrono::milliseconds interval) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, interval] { run(interval); });
}

void ApiKeyDirectory::run(std::chrono::milliseconds interval) {
  std::unique_lock lock(wake_mu_);
  while (!stop_) {
    wake_.wait_for(lock, interval, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    (void)refresh();  // failures are logged and keep the last snapshot
    lock.lock();
  }
}

std::shared_ptr<const ApiKeySnapshot> ApiKeyDirectory::snapshot() const {
  std::lock_guard lock(snapshot_mu_);
  return snapshot_;
}

Result<ApiKey> ApiKeyDirectory::authenticate(std::string_view presented) const {
  auto snap = snapshot();
  if (!snap) return make_error(ErrorCode::Temporary, "API keys not loaded (apikeys.db unreadable)");
  if (const ApiKey* k = snap->find(presented)) return *k;
  return make_error(ErrorCode::NotFound, "no such key");
}

}  // namespace volley::auth
