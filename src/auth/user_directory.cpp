#include "auth/user_directory.hpp"

#include "util/log.hpp"

namespace volley::auth {
namespace {

// The SQLite store, reopened after any failure. The version token combines
// an open generation with PRAGMA data_version: data_version is only
// comparable on one connection, so a reopen always forces a reload.
class ReopeningStoreSource final : public UserSource {
 public:
  explicit ReopeningStoreSource(std::string path) : path_(std::move(path)) {}

  Result<uint64_t> version() override {
    if (!store_) {
      auto opened = UserStore::open(path_);
      if (!opened) return make_error(ErrorCode::Io, opened.error().message);
      store_ = std::move(opened.value());
      ++generation_;
    }
    auto v = store_->data_version();
    if (!v) {
      store_.reset();
      return v.error();
    }
    return (generation_ << 40) ^ *v;
  }

  Result<std::vector<UserRecord>> load_all() override {
    if (!store_) return make_error(ErrorCode::Io, "users database is not open");
    auto users = store_->list();
    if (!users) store_.reset();
    return users;
  }

 private:
  std::string path_;
  std::unique_ptr<UserStore> store_;
  uint64_t generation_ = 0;
};

}  // namespace

std::unique_ptr<UserSource> open_user_source(std::string path) {
  return std::make_unique<ReopeningStoreSource>(std::move(path));
}

UserSnapshot::UserSnapshot(std::vector<UserRecord> users) {
  by_address_.reserve(users.size());
  for (auto& u : users) {
    // Names stored before they were checked (a/b@d, ../x@d) are no users:
    // they can neither log in nor receive mail (no 250-then-bounce).
    auto key = normalize_user_name(u.address);
    if (!key) {
      log::warn("users.invalid_name").kv("user", u.address).kv("reason", key.error().message);
      continue;
    }
    u.address = *key;
    by_address_.emplace(std::move(key.value()), std::move(u));
  }
}

const UserRecord* UserSnapshot::find(const std::string& key) const {
  auto it = by_address_.find(key);
  return it == by_address_.end() ? nullptr : &it->second;
}

UserDirectory::UserDirectory(std::unique_ptr<UserSource> source) : source_(std::move(source)) {}

UserDirectory::~UserDirectory() {
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<void> UserDirectory::refresh(bool force) {
  std::lock_guard lock(refresh_mu_);
  // Logged when the failure starts or changes, not once per poll.
  auto failed = [&](const Error& e) -> Result<void> {
    if (e.message != last_error_)
      log::error("users.refresh_failed")
          .kv("error", e.message)
          .kv("action", snapshot() ? "keeping the last loaded users" : "answering lookups with temporary errors");
    last_error_ = e.message;
    return e;
  };
  auto version = source_->version();
  if (!version) return failed(version.error());
  if (!force && loaded_version_ && *loaded_version_ == *version) {
    last_error_.clear();
    return {};
  }
  auto users = source_->load_all();
  if (!users) return failed(users.error());
  auto next = std::make_shared<const UserSnapshot>(std::move(users.value()));
  const size_t count = next->size();
  {
    std::lock_guard swap_lock(snapshot_mu_);
    snapshot_ = std::move(next);
  }
  loaded_version_ = *version;
  last_error_.clear();
  log::info("users.loaded").kv("users", static_cast<uint64_t>(count));
  return {};
}

void UserDirectory::start(std::chrono::milliseconds interval) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, interval] { run(interval); });
}

void UserDirectory::request_refresh() {
  {
    std::lock_guard lock(wake_mu_);
    wake_requested_ = true;
  }
  wake_.notify_all();
}

void UserDirectory::run(std::chrono::milliseconds interval) {
  std::unique_lock lock(wake_mu_);
  while (!stop_) {
    wake_.wait_for(lock, interval, [this] { return stop_ || wake_requested_; });
    if (stop_) break;
    const bool force = wake_requested_;
    wake_requested_ = false;
    lock.unlock();
    (void)refresh(force);  // failures are logged and keep the last snapshot
    lock.lock();
  }
}

Result<UserRecord> UserDirectory::find(std::string_view address) const {
  auto snap = snapshot();
  if (!snap) return make_error(ErrorCode::Temporary, "users not loaded yet (users database unreadable)");
  auto key = normalize_address(address);
  if (!key) return make_error(ErrorCode::NotFound, key.error().message);
  if (const UserRecord* u = snap->find(*key)) return *u;
  return make_error(ErrorCode::NotFound, "no such user " + *key);
}

std::shared_ptr<const UserSnapshot> UserDirectory::snapshot() const {
  std::lock_guard lock(snapshot_mu_);
  return snapshot_;
}

}  // namespace volley::auth
