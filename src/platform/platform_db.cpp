#include "platform/platform_db.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <vector>

#include "util/sqlite.hpp"

namespace volley::platform {
namespace {

// Addresses are stored lowercased; sender domains too. Event ids are the
// cursor of GET /v1/events, so they only grow (AUTOINCREMENT never reuses an
// id, even after the oldest rows are trimmed).
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS suppressions("
    " domain TEXT NOT NULL,"          // sender domain; '' = every sender domain
    " address TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY(domain, address));"
    "CREATE INDEX IF NOT EXISTS suppressions_address ON suppressions(address);"
    "CREATE TABLE IF NOT EXISTS events("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at INTEGER NOT NULL,"
    " type TEXT NOT NULL,"
    " message_id TEXT NOT NULL DEFAULT '',"
    " recipient TEXT NOT NULL DEFAULT '',"
    " campaign TEXT NOT NULL DEFAULT '',"
    " detail TEXT NOT NULL DEFAULT '{}',"
    " dedup TEXT UNIQUE);"             // set when an event may be appended twice (replays)
    "CREATE INDEX IF NOT EXISTS events_type ON events(type, id);"
    "CREATE INDEX IF NOT EXISTS events_campaign ON events(campaign, type) WHERE campaign <> '';"
    "CREATE TABLE IF NOT EXISTS messages("
    " id TEXT PRIMARY KEY,"
    " created_at INTEGER NOT NULL,"
    " sender TEXT NOT NULL,"
    " subject TEXT NOT NULL DEFAULT '',"
    " tags TEXT NOT NULL DEFAULT '[]',"
    " campaign TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS messages_created ON messages(created_at);"
    "CREATE TABLE IF NOT EXISTS message_recipients("
    " message_id TEXT NOT NULL,"
    " address TEXT NOT NULL,"
    " campaign TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " last_reply TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY(message_id, address));"
    "CREATE INDEX IF NOT EXISTS recipients_campaign ON message_recipients(campaign, state) WHERE campaign <> '';"
    "CREATE TABLE IF NOT EXISTS campaigns("
    " id TEXT PRIMARY KEY,"
    " created_at INTEGER NOT NULL,"
    " sender TEXT NOT NULL,"
    " subject TEXT NOT NULL DEFAULT '',"
    " tags TEXT NOT NULL DEFAULT '[]');"
    // Campaigns being expanded into the queue (campaign_store.hpp).
    "CREATE TABLE IF NOT EXISTS campaign_jobs("
    " id TEXT PRIMARY KEY,"
    " created_at INTEGER NOT NULL,"
    " request TEXT NOT NULL,"          // the accepted request body; '' once done
    " total INTEGER NOT NULL,"
    " next_index INTEGER NOT NULL DEFAULT 0,"
    " done INTEGER NOT NULL DEFAULT 0,"
    " client_ip TEXT NOT NULL DEFAULT '',"
    " key_name TEXT NOT NULL DEFAULT '');"
    // Resuming a campaign finds what its last batch already recorded.
    "CREATE INDEX IF NOT EXISTS recipients_campaign_address ON message_recipients(campaign, address)"
    " WHERE campaign <> '';";

}  // namespace

std::string platform_db_path(const std::string& data_dir) {
  if (data_dir.empty()) return "platform.db";
  return data_dir + "/platform.db";
}

Result<std::unique_ptr<PlatformDb>> PlatformDb::open(const std::string& path) {
  auto db = open_private_database(path, kPlatformStore, kSchema);
  if (!db) return db.error();
  std::unique_ptr<PlatformDb> out(new PlatformDb(*db));
  // WAL + NORMAL: durable against a process crash at every COMMIT, one
  // fsync per checkpoint instead of per transaction (see the header).
  if (auto r = sql_exec(*db, kPlatformStore, "PRAGMA synchronous=NORMAL"); !r) return r.error();
  return out;
}

PlatformDb::~PlatformDb() {
  statements_.reset();  // finalized before the connection closes
  sqlite3_close_v2(db_);
}

Error PlatformDb::error(const char* what) const { return sqlite_error(db_, kPlatformStore, what); }

Result<void> PlatformDb::run(const char* sql) {
  SqlStatement st(*statements_, sql);
  if (!st.ok() || st.step() != SQLITE_DONE) return error(sql);
  return {};
}

Result<void> PlatformDb::begin() { return run("BEGIN IMMEDIATE"); }
Result<void> PlatformDb::commit() {
  if (auto r = run("COMMIT"); !r) {
    rollback();
    return r;
  }
  return {};
}
void PlatformDb::rollback() { (void)run("ROLLBACK"); }

struct PlatformDb::GroupWriter {
  std::function<Result<void>()> fn;
  Result<void> result;
  bool done = false;
  std::condition_variable cv;
};

Result<void> PlatformDb::grouped(std::function<Result<void>()> fn) {
  GroupWriter self;
  self.fn = std::move(fn);
  std::unique_lock queue_lock(group_mu_);
  writers_.push_back(&self);
  self.cv.wait(queue_lock, [&] { return self.done || writers_.front() == &self; });
  if (self.done) return self.result;  // a leader committed it

  // The leader: everyone waiting now (up to kMaxGroup) goes in one transaction.
  const size_t n = std::min(writers_.size(), kMaxGroup);
  std::vector<GroupWriter*> group(writers_.begin(), writers_.begin() + static_cast<std::ptrdiff_t>(n));
  queue_lock.unlock();
  {
    std::lock_guard lock(mu_);
    Result<void> tx = begin();
    if (tx) {
      ++depth_;  // the stores' own transactions join this one
      for (GroupWriter* w : group) {
        // A savepoint each: one call's failure takes back only its writes.
        if (auto r = run("SAVEPOINT grouped"); !r) {
          w->result = r;
          continue;
        }
        w->result = w->fn();
        if (!w->result) (void)run("ROLLBACK TO grouped");
        (void)run("RELEASE grouped");
      }
      --depth_;
      tx = commit();  // rolls back itself when it fails
    }
    if (!tx)
      for (GroupWriter* w : group) w->result = tx;
  }
  queue_lock.lock();
  for (size_t i = 0; i < n; ++i) {
    GroupWriter* w = writers_.front();
    writers_.pop_front();
    w->done = true;
    if (w != &self) w->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();  // the next group's leader
  return self.result;
}

}  // namespace volley::platform
