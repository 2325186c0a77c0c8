// The sending platform's state in one SQLite database, data_dir/platform.db:
// suppressions, events, the history of messages sent through the API, and
// campaigns. One connection guarded by a mutex, shared by the stores
// (suppression_list.hpp, event_log.hpp, message_history.hpp), so a store can
// change two tables in one transaction. SQLite in WAL mode with
// synchronous=NORMAL: a committed transaction survives kill -9 of the server
// (it is in the WAL, written before COMMIT returns); only a power loss can
// take the last commits, as with Postfix's logs. Behind this small interface
// so PostgreSQL can replace it for clusters (SPEC section 6).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "util/result.hpp"
#include "util/sqlite.hpp"

struct sqlite3;

namespace volley::platform {

inline constexpr const char* kPlatformStore = "platform database";

std::string platform_db_path(const std::string& data_dir);

class PlatformDb {
 public:
  static Result<std::unique_ptr<PlatformDb>> open(const std::string& path);
  ~PlatformDb();
  PlatformDb(const PlatformDb&) = delete;
  PlatformDb& operator=(const PlatformDb&) = delete;

  // Hold mutex() for as long as the handle is used (statements included).
  // Recursive, so atomically() can hold it across several stores' calls.
  std::recursive_mutex& mutex() { return mu_; }
  sqlite3* handle() { return db_; }
  // Prepared statements for reuse (util/sqlite.hpp); under mutex() too.
  SqlStatementCache& statements() { return *statements_; }

  Error error(const char* what) const;

  // BEGIN IMMEDIATE ... COMMIT around `fn` (ROLLBACK when it fails); call
  // with mutex() held. Inside another transaction (atomically()), `fn`
  // simply joins it: the outer one commits or rolls back everything.
  template <typename Fn>
  Result<void> transaction(Fn&& fn) {
    if (depth_ > 0) return nested(fn);
    if (auto b = begin(); !b) return b;
    Result<void> r = nested(fn);
    if (!r) {
      rollback();
      return r;
    }
    return commit();
  }

  // Several stores' writes in one transaction, one commit: a message's
  // history row and its events (the API), a round's history update and
  // its events (delivery). Half the commits, and nobody sees one without
  // the other.
  template <typename Fn>
  Result<void> atomically(Fn&& fn) {
    std::lock_guard lock(mu_);
    return transaction(fn);
  }

  // atomically() for writers on many threads at once (API handlers): each
  // call's writes still commit or roll back as a whole (a savepoint each),
  // but the calls waiting together share one transaction and one commit,
  // like the queue's group commit. Returns when this call's writes are
  // committed. The first waiter does the work for the group (LevelDB's
  // writer queue), so no thread is added.
  Result<void> grouped(std::function<Result<void>()> fn);

 private:
  struct GroupWriter;
  static constexpr size_t kMaxGroup = 128;  // calls per shared transaction

  explicit PlatformDb(sqlite3* db) : db_(db), statements_(std::make_unique<SqlStatementCache>(db)) {}
  Result<void> begin();
  Result<void> commit();
  void rollback();

  Result<void> run(const char* sql);
  template <typename Fn>
  Result<void> nested(Fn& fn) {
    ++depth_;
    Result<void> r = fn();
    --depth_;
    return r;
  }

  sqlite3* db_;
  std::unique_ptr<SqlStatementCache> statements_;
  std::recursive_mutex mu_;
  int depth_ = 0;  // transactions open (only the outermost BEGINs and COMMITs)
  std::mutex group_mu_;                // guards writers_
  std::deque<GroupWriter*> writers_;   // grouped() calls waiting, the leader first
};

}  // namespace volley::platform
