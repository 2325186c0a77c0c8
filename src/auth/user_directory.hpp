// The daemon's view of the mailbox users: an immutable in-memory snapshot,
// swapped whole, so a lookup on a network thread is a hash-map probe and
// never waits on SQLite (which may be busy for seconds while the CLI writes).
//
// A background thread asks the store every `interval` whether anything
// changed (SQLite's PRAGMA data_version, one cheap query) and re-reads all
// users when it did, so `volley user add` is seen within about a second. A
// failed refresh keeps the last good snapshot (and logs); with no snapshot at
// all (the store was unreadable since start-up) every lookup answers a
// temporary error, never "no such user".
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
#include <unordered_map>
#include <vector>

#include "auth/user_store.hpp"
#include "util/result.hpp"

namespace volley::auth {

// Where the users come from. UserStore in production; tests use a fake whose
// backend fails on demand. Called from one thread at a time.
class UserSource {
 public:
  virtual ~UserSource() = default;
  // A token that changes whenever the user set may have changed.
  virtual Result<uint64_t> version() = 0;
  virtual Result<std::vector<UserRecord>> load_all() = 0;
};

// The database at `path`, opened on first use and reopened after a failure
// (a store that was unreadable at start-up is picked up once it is fixed).
std::unique_ptr<UserSource> open_user_source(std::string path);

// How often the refresher asks the store whether users changed: `volley user
// add` must be able to receive mail and log in within ~1-2 s.
inline constexpr std::chrono::milliseconds kUserRefreshInterval{1000};

// One immutable set of users, keyed by normalize_address().
class UserSnapshot {
 public:
  explicit UserSnapshot(std::vector<UserRecord> users);
  const UserRecord* find(const std::string& key) const;
  size_t size() const { return by_address_.size(); }

 private:
  std::unordered_map<std::string, UserRecord> by_address_;
};

class UserDirectory {
 public:
  explicit UserDirectory(std::unique_ptr<UserSource> source);
  ~UserDirectory();  // stops the refresher
  UserDirectory(const UserDirectory&) = delete;
  UserDirectory& operator=(const UserDirectory&) = delete;

  // Reads the source when its version changed since the last good load (or
  // always, with `force`). On failure the current snapshot stays and the
  // error is returned (and logged). Blocking: never call on an I/O thread.
  Result<void> refresh(bool force = false);

  // Starts the background refresher (one thread), polling every `interval`.
  void start(std::chrono::milliseconds interval = kUserRefreshInterval);
  // Asks the refresher to reload now (SIGHUP); returns at once.
  void request_refresh();

  // Non-blocking lookup of a user by address (normalised here). Ok: the
  // user. Error NotFound: definitely no such user. Any other error (no
  // snapshot yet): temporary.
  Result<UserRecord> find(std::string_view address) const;

  std::shared_ptr<const UserSnapshot> snapshot() const;

 private:
  void run(std::chrono::milliseconds interval);

  std::unique_ptr<UserSource> source_;
  std::mutex refresh_mu_;          // one refresh at a time (the source is single-threaded)
  std::optional<uint64_t> loaded_version_;
  std::string last_error_;         // logged once, not once per poll

  mutable std::mutex snapshot_mu_;  // held only to copy or swap the pointer
  std::shared_ptr<const UserSnapshot> snapshot_;

  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool wake_requested_ = false;
  std::thread thread_;
};

}  // namespace volley::auth
