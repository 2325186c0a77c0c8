// The durable queue: an append-only log of records (record.hpp) in segment
// files under data_dir/queue/, written by one committer thread with group
// commit: every message waiting at the moment the committer wakes goes out
// in one writev and one fdatasync, and only then are their callbacks run
// (and the 250s sent). N concurrent sessions cost one sync, not N.
//
// In memory: an index of queue id -> where the record is plus a small
// summary for administration. Bodies are never held; show() reads them back
// with pread.
//
// Large messages (the intake streams any body above
// limits.message_memory_threshold as it arrives): the body goes to its own
// file, body-<id> (body_file.hpp), written and fdatasync'd before the small
// StoredMessage record that makes it live is group-committed like any other
// (the queue directory is synced in the same batch, for the new entry). A
// body file no live record refers to is an orphan: removed at once when its
// transfer is aborted, and at open (recovery). Erasing such a message removes
// its file after the delete record is durable.
//
// Every write, sync, truncate, rename and unlink goes through a
// volley::FileSystem (Options::fs), so tests inject faults.
//
// Crash semantics: a record is acknowledged only after the fdatasync that
// covers it returned. At open, every segment is scanned and each record's
// CRC checked; a torn record at the tail (written, never acknowledged) is
// cut off. Segments are removed oldest-first once nothing in them is live,
// so a delete record never outlives the message it deletes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "queue/body_file.hpp"
#include "queue/queue_admin.hpp"
#include "queue/record.hpp"
#include "queue/spool.hpp"
#include "util/file_system.hpp"
#include "util/result.hpp"

namespace volley::queue {

class LogSpool final : public Spool, public QueueAdmin {
 public:
  struct Options {
    uint64_t segment_bytes = 64ull << 20;  // roll to a new segment file past this size
    FileSystem* fs = nullptr;              // null: the real one (posix_file_system())
  };
  struct RecoveryStats {
    size_t segments = 0;
    size_t messages = 0;      // live after replay
    size_t records = 0;       // read
    uint64_t bytes = 0;
    uint64_t truncated_bytes = 0;  // torn tail cut off
    uint64_t skipped_bytes = 0;    // corrupt regions skipped (bit rot)
    size_t orphan_bodies = 0;      // body files of unfinished transfers removed
    size_t missing_bodies = 0;     // stored messages dropped: body file gone or short
    double seconds = 0;
  };
  struct CommitStats {
    uint64_t batches = 0;
    uint64_t records = 0;
  };

  static Result<std::unique_ptr<LogSpool>> open(const std::string& data_dir, Options options);
  static Result<std::unique_ptr<LogSpool>> open(const std::string& data_dir) { return open(data_dir, Options{}); }
  ~LogSpool() override;

  // Spool
  void commit(std::shared_ptr<const Message> message, Callback done) override;
  void shutdown() override;

  // Large messages. create_body() makes data_dir/queue/body-<id> (blocking);
  // the caller appends to it as the content arrives and sync()s it, then
  // commit_stored() group-commits the record that makes it live: the
  // envelope, `head` (the trace headers that precede the body) and the body's
  // size and CRC. `done` as for commit(); on failure the body file is
  // removed. The content of the message is head->content + the body file.
  Result<std::unique_ptr<BodyFile>> create_body(const std::string& id) override;
  void commit_stored(std::shared_ptr<const Message> head, std::unique_ptr<BodyFile> body, Callback done) override;

  // QueueAdmin
  std::vector<QueueEntry> list(const ListFilter& filter) const override;
  size_t count() const override;
  std::optional<Message> show(const std::string& id) const override;
  Result<void> remove(const std::string& id) override;

  // Delivery side. Asynchronous and group-committed with incoming mail;
  // `done` runs once on the committer thread. Losing one of these records
  // in a crash means a recipient is tried again (at-least-once), never lost.
  //
  // Replaces the envelope of a queued message (recipient states, attempts,
  // next attempt); the content stays where it is. Unknown ids are ignored.
  void update(const Envelope& env, Callback done);
  // Removes a message whose delivery is finished.
  void erase(const std::string& id, Callback done);
  // The message with its newest envelope, read back from disk (blocking).
  std::optional<Message> load(const std::string& id) const;
  // The content size of a queued message from the index (no disk read), so
  // delivery can charge a body against its memory cap before loading it.
  std::optional<uint64_t> content_size(const std::string& id) const;
  // Calls fn for every queued message, in id order, under the index lock:
  // keep it cheap (the scheduler uses it once at start-up).
  void visit(const std::function<void(const QueueEntry&)>& fn) const;

  const RecoveryStats& recovery() const { return recovery_; }
  CommitStats commit_stats() const;
  const std::string& directory() const { return dir_; }

 private:
  struct Location {
    uint32_t segment = 0;
    uint64_t offset = 0;
    uint32_t length = 0;  // whole record
  };
  struct Entry {
    Location where;   // the message record (envelope as received + content)
    Location update;  // the newest update record; length 0 = none
    QueueEntry summary;
    bool stored = false;     // a StoredMessage: the body is in body-<id>
    uint64_t body_size = 0;  // its size
  };
  struct Segment {
    uint32_t number = 0;
    uint32_t live = 0;
  };
  struct Job {
    std::string record;
    std::string id;
    RecordType type = RecordType::Message;
    QueueEntry summary;  // messages and updates
    Callback done;
    std::unique_ptr<BodyFile> body;  // StoredMessage: synced, waiting for its record
  };

  LogSpool(std::string dir, Options options);
  Result<void> recover();
  Result<void> open_active(uint32_t number, bool create);
  void committer_loop();
  void write_batch(std::vector<Job>& batch);
  Result<void> append_batch(std::vector<Job>& batch, uint64_t start);
  void roll_if_needed();
  void reclaim_segments();
  void remove_orphan_bodies();
  void remove_body(const std::string& id);
  std::string segment_path(uint32_t number) const;
  std::string body_path(const std::string& id) const;
  void apply_message(const std::string& id, QueueEntry summary, Location where, bool stored, uint64_t body_size);
  void apply_update(const std::string& id, QueueEntry summary, Location where);
  bool apply_delete(const std::string& id);  // true: the message had a body file
  void pin(uint32_t segment);
  void unpin(uint32_t segment);
  void enqueue(Job job);
  std::optional<std::string> read_record(Location where, RecordType type) const;

  std::string dir_;
  Options options_;
  FileSystem& fs_;
  RecoveryStats recovery_;

  // Index, guarded by index_mu_ (read by admin calls on other threads).
  mutable std::mutex index_mu_;
  std::map<std::string, Entry> index_;
  std::deque<Segment> segments_;  // oldest first; back() is the active one

  // Committer state.
  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::vector<Job> jobs_;
  bool stopping_ = false;
  std::thread committer_;
  int active_fd_ = -1;
  uint64_t active_size_ = 0;
  CommitStats stats_;
};

// Summary of a message for the index (sender, counts, recipient domains).
QueueEntry summarize(const Message& m);
QueueEntry summarize(const Envelope& env, uint64_t content_size);

}  // namespace volley::queue
