#include "queue/log_spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <future>
#include <set>

#include "util/file_io.hpp"
#include "queue/queue_id.hpp"
#include "queue/record.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::queue {
namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// "seg-00000042.log" -> 42; 0 for anything else.
uint32_t segment_number(const char* name) {
  unsigned n = 0;
  char tail[8] = {};
  if (std::sscanf(name, "seg-%8u.%4s", &n, tail) != 2 || std::strcmp(tail, "log") != 0) return 0;
  if (std::strlen(name) != 16) return 0;
  return n;
}

// Logs a failure whose consequence is only extra work at the next open
// (a removal or truncation that may not survive a crash).
void log_if_failed(const Result<void>& r, const char* event, const std::string& path) {
  if (!r) log::error(event).kv("path", path).kv("error", r.error().message);
}

}  // namespace

QueueEntry summarize(const Message& m) { return summarize(m.envelope, m.content.size()); }

QueueEntry summarize(const Envelope& env, uint64_t content_size) {
  QueueEntry e;
  e.id = env.id;
  e.received_at = env.received_at;
  e.sender = env.sender;
  e.recipients = static_cast<uint32_t>(env.recipients.size());
  e.size = content_size;
  e.state = any_deferred(env) ? "deferred" : "queued";
  e.next_attempt = env.next_attempt;
  for (const auto& r : env.recipients) {
    auto at = r.address.rfind('@');
    std::string d = at == std::string::npos ? std::string() : to_lower(r.address.substr(at + 1));
    if (std::find(e.domains.begin(), e.domains.end(), d) == e.domains.end()) e.domains.push_back(std::move(d));
  }
  return e;
}

LogSpool::LogSpool(std::string dir, Options options)
    : dir_(std::move(dir)), options_(options), fs_(options.fs ? *options.fs : posix_file_system()) {}

std::string LogSpool::body_path(const std::string& id) const { return dir_ + "/" + body_file_name(id); }

std::string LogSpool::segment_path(uint32_t number) const {
  char name[32];
  std::snprintf(name, sizeof name, "/seg-%08u.log", number);
  return dir_ + name;
}

Result<std::unique_ptr<LogSpool>> LogSpool::open(const std::string& data_dir, Options options) {
  FileSystem& fs = options.fs ? *options.fs : posix_file_system();
  for (const auto& d : {data_dir, data_dir + "/queue"})
    if (auto r = fs.mkdir(d, 0700); !r) return r.error();
  std::unique_ptr<LogSpool> spool(new LogSpool(data_dir + "/queue", options));
  if (auto r = spool->recover(); !r) return r.error();
  spool->committer_ = std::thread([s = spool.get()] { s->committer_loop(); });
  return spool;
}

void LogSpool::pin(uint32_t segment) {
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it)
    if (it->number == segment) {
      ++it->live;
      return;
    }
}

void LogSpool::unpin(uint32_t segment) {
  for (auto& s : segments_)
    if (s.number == segment && s.live > 0) {
      --s.live;
      return;
    }
}

void LogSpool::apply_message(const std::string& id, QueueEntry summary, Location where, bool stored, uint64_t body_size) {
  auto [it, inserted] = index_.try_emplace(id);
  if (!inserted) {
    // Same id twice can only come from a replayed duplicate; keep the newest.
    unpin(it->second.where.segment);
    if (it->second.update.length) unpin(it->second.update.segment);
    it->second.update = Location{};
  }
  it->second.where = where;
  it->second.summary = std::move(summary);
  it->second.stored = stored;
  it->second.body_size = body_size;
  pin(where.segment);
}

void LogSpool::apply_update(const std::string& id, QueueEntry summary, Location where) {
  auto it = index_.find(id);
  if (it == index_.end()) return;  // deleted meanwhile (admin delete); the record is dead
  if (it->second.update.length) unpin(it->second.update.segment);
  summary.size = it->second.summary.size;  // the content did not change
  it->second.update = where;
  it->second.summary = std::move(summary);
  pin(where.segment);
}

bool LogSpool::apply_delete(const std::string& id) {
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  const bool stored = it->second.stored;
  unpin(it->second.where.segment);
  if (it->second.update.length) unpin(it->second.update.segment);
  index_.erase(it);
  return stored;
}

Result<void> LogSpool::recover() {
  auto started = std::chrono::steady_clock::now();
  std::vector<uint32_t> numbers;
  if (DIR* dp = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(dp))
      if (uint32_t n = segment_number(e->d_name)) numbers.push_back(n);
    ::closedir(dp);
  } else {
    return make_error(errno_text("cannot open " + dir_));
  }
  std::sort(numbers.begin(), numbers.end());
  std::string data;
  for (size_t si = 0; si < numbers.size(); ++si) {
    const uint32_t number = numbers[si];
    const bool last = si + 1 == numbers.size();
    segments_.push_back(Segment{number, 0});
    if (!read_whole_file(segment_path(number), data)) return make_error(errno_text("cannot read " + segment_path(number)));
    recovery_.bytes += data.size();
    ++recovery_.segments;
    size_t pos = 0, valid_end = 0;
    std::string_view all(data);
    while (pos < all.size()) {
      RecordView rec{};
      DecodeStatus st = decode_record(all.substr(pos), rec);
      if (st == DecodeStatus::Ok) {
        ++recovery_.records;
        const Location at{number, pos, static_cast<uint32_t>(rec.total_size)};
        if (rec.type == RecordType::Message) {
          Envelope env;
          std::string_view content;
          if (decode_message_payload(rec.payload, env, content) && is_valid_queue_id(env.id))
            apply_message(env.id, summarize(env, content.size()), at, false, 0);
        } else if (rec.type == RecordType::StoredMessage) {
          Envelope env;
          std::string_view head;
          StoredBody body;
          if (decode_stored_message_payload(rec.payload, env, head, body) && is_valid_queue_id(env.id))
            apply_message(env.id, summarize(env, head.size() + body.size), at, true, body.size);
        } else if (rec.type == RecordType::Update) {
          Envelope env;
          if (parse_envelope(rec.payload, env) && is_valid_queue_id(env.id)) apply_update(env.id, summarize(env, 0), at);
        } else {
          apply_delete(std::string(rec.payload));
        }
        pos += rec.total_size;
        valid_end = pos;
        continue;
      }
      if (st == DecodeStatus::NeedMore) break;  // torn tail
      // Corrupt bytes: resynchronise on the next record magic.
      size_t next = all.find(std::string_view("VQR1"), pos + 1);
      if (next == std::string_view::npos) break;
      recovery_.skipped_bytes += next - pos;
      log::error("queue.corrupt_region").kv("segment", segment_path(number)).kv("offset", static_cast<uint64_t>(pos)).kv("bytes", static_cast<uint64_t>(next - pos));
      pos = next;
    }
    if (valid_end < all.size()) {
      if (last) {
        // Never acknowledged: the tail was being written when we stopped.
        recovery_.truncated_bytes += all.size() - valid_end;
        auto fd = fs_.open(segment_path(number), O_WRONLY);
        if (!fd) return fd.error();
        auto cut = fs_.ftruncate(*fd, valid_end);
        log_if_failed(fs_.close(*fd), "queue.close_failed", segment_path(number));
        if (!cut) return cut.error();
        log::warn("queue.torn_tail_removed").kv("segment", segment_path(number)).kv("bytes", static_cast<uint64_t>(all.size() - valid_end));
      } else {
        recovery_.skipped_bytes += all.size() - valid_end;
      }
    }
    if (last) active_size_ = valid_end;
  }
  data.clear();
  data.shrink_to_fit();
  if (segments_.empty()) {
    if (auto r = open_active(1, true); !r) return r;
    segments_.push_back(Segment{1, 0});
  } else if (auto r = open_active(segments_.back().number, false); !r) {
    return r;
  }
  remove_orphan_bodies();
  recovery_.messages = index_.size();
  recovery_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  reclaim_segments();
  return {};
}

// Body files that no live record refers to were being received when the
// process stopped (or belong to a message whose deletion was durable but
// whose unlink was not): remove them. A stored message whose body file is
// gone or short cannot be delivered: dropped, loudly.
void LogSpool::remove_orphan_bodies() {
  std::set<std::string> present;
  if (DIR* dp = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(dp)) {
      std::string_view name(e->d_name);
      if (name.substr(0, kBodyFilePrefix.size()) == kBodyFilePrefix) present.emplace(name.substr(kBodyFilePrefix.size()));
    }
    ::closedir(dp);
  }
  std::vector<std::string> missing;
  for (const auto& [id, e] : index_) {
    if (!e.stored) continue;
    struct stat st {};
    if (!present.count(id) || ::stat(body_path(id).c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) < e.body_size)
      missing.push_back(id);
  }
  for (const auto& id : missing) {
    log::error("queue.body_missing").kv("id", id).kv("path", body_path(id));
    apply_delete(id);
    ++recovery_.missing_bodies;
  }
  bool removed = false;
  for (const auto& id : present) {
    auto it = index_.find(id);
    if (it != index_.end() && it->second.stored) continue;
    log::info("queue.orphan_body_removed").kv("path", body_path(id));
    log_if_failed(fs_.unlink(body_path(id)), "queue.body_remove_failed", body_path(id));
    ++recovery_.orphan_bodies;
    removed = true;
  }
  if (removed) log_if_failed(fs_.fsync_dir(dir_), "queue.dir_sync_failed", dir_);
}

Result<void> LogSpool::open_active(uint32_t number, bool create) {
  std::string path = segment_path(number);
  int flags = O_WRONLY | (create ? (O_CREAT | O_EXCL) : 0);
  auto fd = fs_.open(path, flags, 0600);
  if (!fd) return fd.error();
  if (create) {
    // The new file must survive a crash before anything in it is acknowledged.
    if (auto r = fs_.fsync_dir(dir_); !r) {
      log_if_failed(fs_.close(*fd), "queue.close_failed", path);
      return r;
    }
    active_size_ = 0;
  }
  if (active_fd_ >= 0) log_if_failed(fs_.close(active_fd_), "queue.close_failed", dir_);
  active_fd_ = *fd;
  return {};
}

LogSpool::~LogSpool() {
  shutdown();
  if (active_fd_ >= 0) log_if_failed(fs_.close(active_fd_), "queue.close_failed", dir_);
}

void LogSpool::shutdown() {
  {
    std::lock_guard lock(jobs_mu_);
    stopping_ = true;
  }
  jobs_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

void LogSpool::enqueue(Job job) {
  {
    std::lock_guard lock(jobs_mu_);
    if (!stopping_) {
      jobs_.push_back(std::move(job));
      jobs_cv_.notify_one();
      return;
    }
  }
  job.done(make_error(ErrorCode::Io, "queue is shutting down"));
}

void LogSpool::commit(std::shared_ptr<const Message> message, Callback done) {
  Job job;
  job.record = encode_message_record(*message);
  job.id = message->envelope.id;
  job.summary = summarize(*message);
  job.done = std::move(done);
  enqueue(std::move(job));
}

Result<std::unique_ptr<BodyFile>> LogSpool::create_body(const std::string& id) {
  if (!is_valid_queue_id(id)) return make_error(ErrorCode::Invalid, "invalid queue id");
  std::string path = body_path(id);
  auto fd = fs_.open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!fd) return fd.error();
  return std::unique_ptr<BodyFile>(new BodyFile(fs_, id, std::move(path), *fd));
}

void LogSpool::commit_stored(std::shared_ptr<const Message> head, std::unique_ptr<BodyFile> body, Callback done) {
  if (!body || !body->synced() || body->id() != head->envelope.id) {
    if (body) body->discard();
    done(make_error(ErrorCode::Invalid, "stored message body is missing, unsynced or not this message's"));
    return;
  }
  Job job;
  job.record = encode_stored_message_record(head->envelope, head->content, StoredBody{body->size(), body->crc()});
  job.id = head->envelope.id;
  job.type = RecordType::StoredMessage;
  job.summary = summarize(head->envelope, head->content.size() + body->size());
  job.done = std::move(done);
  job.body = std::move(body);
  enqueue(std::move(job));
}

void LogSpool::update(const Envelope& env, Callback done) {
  Job job;
  job.record = encode_update_record(env);
  job.id = env.id;
  job.type = RecordType::Update;
  job.summary = summarize(env, 0);
  job.done = std::move(done);
  enqueue(std::move(job));
}

void LogSpool::erase(const std::string& id, Callback done) {
  Job job;
  job.record = encode_delete_record(id);
  job.id = id;
  job.type = RecordType::Delete;
  job.done = std::move(done);
  enqueue(std::move(job));
}

void LogSpool::committer_loop() {
  std::vector<Job> batch;
  for (;;) {
    {
      std::unique_lock lock(jobs_mu_);
      jobs_cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and everything answered
      batch.swap(jobs_);
    }
    write_batch(batch);
    batch.clear();
  }
}

// Writes the batch's records at `start` and makes them durable: one pwritev
// (per IOV_MAX records) and one fdatasync; first one directory sync when the
// batch makes body files live, so their entries are durable before the
// records that refer to them.
Result<void> LogSpool::append_batch(std::vector<Job>& batch, uint64_t start) {
  if (std::any_of(batch.begin(), batch.end(), [](const Job& j) { return j.body != nullptr; }))
    if (auto r = fs_.fsync_dir(dir_); !r) return r;
  std::vector<iovec> iov;
  iov.reserve(batch.size());
  for (auto& j : batch) iov.push_back(iovec{j.record.data(), j.record.size()});
  if (auto r = fs_.pwritev_all(active_fd_, iov.data(), static_cast<int>(iov.size()), start); !r) return r;
  return fs_.fdatasync(active_fd_);
}

void LogSpool::write_batch(std::vector<Job>& batch) {
  const uint64_t start = active_size_;
  uint64_t total = 0;
  for (auto& j : batch) total += j.record.size();
  if (auto r = append_batch(batch, start); !r) {
    // Nothing of a failed batch may remain: a later successful batch must
    // not make a half-written record look acknowledged (it is written at
    // `start` again, over whatever this one left).
    Result<void> rolled_back = fs_.ftruncate(active_fd_, start);
    if (rolled_back) rolled_back = fs_.fdatasync(active_fd_);
    log_if_failed(rolled_back, "queue.rollback_failed", segment_path(segments_.back().number));
    log::error("queue.write_failed").kv("error", r.error().message).kv("records", static_cast<uint64_t>(batch.size()));
    for (auto& j : batch) {
      if (j.body) j.body->discard();
      j.done(r.error());
    }
    return;
  }
  active_size_ = start + total;
  std::vector<std::string> bodies_to_remove;
  {
    std::lock_guard lock(index_mu_);
    uint64_t offset = start;
    const uint32_t seg = segments_.back().number;
    for (auto& j : batch) {
      const Location at{seg, offset, static_cast<uint32_t>(j.record.size())};
      if (j.type == RecordType::Delete) {
        if (apply_delete(j.id)) bodies_to_remove.push_back(j.id);
      } else if (j.type == RecordType::Update) {
        apply_update(j.id, std::move(j.summary), at);
      } else {
        apply_message(j.id, std::move(j.summary), at, j.body != nullptr, j.body ? j.body->size() : 0);
      }
      if (j.body) j.body->keep();
      offset += j.record.size();
    }
    ++stats_.batches;
    stats_.records += batch.size();
  }
  // The delete records are durable: a body unlink lost in a crash leaves an
  // orphan that the next open removes. Before the answers, so an erase that
  // was answered has freed its space.
  for (const auto& id : bodies_to_remove) remove_body(id);
  for (auto& j : batch) j.done(Result<void>{});
  roll_if_needed();
  reclaim_segments();
}

void LogSpool::remove_body(const std::string& id) {
  log_if_failed(fs_.unlink(body_path(id)), "queue.body_remove_failed", body_path(id));
}

void LogSpool::roll_if_needed() {
  if (active_size_ < options_.segment_bytes) return;
  uint32_t next;
  {
    std::lock_guard lock(index_mu_);
    next = segments_.back().number + 1;
  }
  if (auto r = open_active(next, true); !r) {
    log::error("queue.roll_failed").kv("error", r.error().message);
    return;  // keep appending to the current segment
  }
  std::lock_guard lock(index_mu_);
  segments_.push_back(Segment{next, 0});
}

void LogSpool::reclaim_segments() {
  std::vector<uint32_t> dead;
  {
    std::lock_guard lock(index_mu_);
    // Oldest first only: a delete record in a later segment must never
    // outlive the message it deletes.
    while (segments_.size() > 1 && segments_.front().live == 0) {
      dead.push_back(segments_.front().number);
      segments_.pop_front();
    }
  }
  if (dead.empty()) return;
  for (uint32_t n : dead) log_if_failed(fs_.unlink(segment_path(n)), "queue.segment_remove_failed", segment_path(n));
  // If this sync fails the removals may come undone in a crash: the segments
  // hold nothing live, so recovery replays them harmlessly and they are
  // reclaimed again.
  log_if_failed(fs_.fsync_dir(dir_), "queue.dir_sync_failed", dir_);
}

std::vector<QueueEntry> LogSpool::list(const ListFilter& filter) const {
  std::vector<QueueEntry> out;
  std::lock_guard lock(index_mu_);
  for (const auto& [id, e] : index_) {
    const QueueEntry& s = e.summary;
    if (!filter.state.empty() && s.state != filter.state) continue;
    if (!filter.domain.empty() &&
        std::find(s.domains.begin(), s.domains.end(), to_lower(filter.domain)) == s.domains.end())
      continue;
    out.push_back(s);
    if (filter.limit && out.size() >= filter.limit) break;
  }
  return out;
}

size_t LogSpool::count() const {
  std::lock_guard lock(index_mu_);
  return index_.size();
}

std::optional<std::string> LogSpool::read_record(Location where, RecordType type) const {
  auto fd = fs_.open(segment_path(where.segment), O_RDONLY);
  if (!fd) return std::nullopt;
  auto buf = fs_.pread_exact(*fd, where.length, where.offset);
  log_if_failed(fs_.close(*fd), "queue.close_failed", segment_path(where.segment));
  RecordView rec{};
  if (!buf || decode_record(*buf, rec) != DecodeStatus::Ok || rec.type != type) return std::nullopt;
  return std::move(*buf);
}

std::optional<uint64_t> LogSpool::content_size(const std::string& id) const {
  std::lock_guard lock(index_mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return it->second.summary.size;
}

std::optional<Message> LogSpool::load(const std::string& id) const {
  Location where, update;
  bool stored = false;
  {
    std::lock_guard lock(index_mu_);
    auto it = index_.find(id);
    if (it == index_.end()) return std::nullopt;
    where = it->second.where;
    update = it->second.update;
    stored = it->second.stored;
  }
  auto record = read_record(where, stored ? RecordType::StoredMessage : RecordType::Message);
  if (!record) return std::nullopt;
  RecordView rec{};
  (void)decode_record(*record, rec);
  Message m;
  if (stored) {
    std::string_view head;
    StoredBody body;
    if (!decode_stored_message_payload(rec.payload, m.envelope, head, body)) return std::nullopt;
    auto fd = fs_.open(body_path(id), O_RDONLY);
    if (!fd) return std::nullopt;
    // Read straight behind the head: a large body is in memory once, not
    // twice (bench/memory with local delivery).
    const size_t body_size = static_cast<size_t>(body.size);
    m.content.resize(head.size() + body_size);
    std::copy(head.begin(), head.end(), m.content.begin());
    char* body_bytes = m.content.data() + head.size();
    auto read = fs_.pread_into(*fd, body_bytes, body_size, 0);
    log_if_failed(fs_.close(*fd), "queue.close_failed", body_path(id));
    if (!read || crc32_update(0, std::string_view(body_bytes, body_size)) != body.crc) {
      log::error("queue.body_corrupt").kv("id", id).kv("path", body_path(id));
      return std::nullopt;
    }
  } else {
    std::string_view content;
    if (!decode_message_payload(rec.payload, m.envelope, content)) return std::nullopt;
    m.content.assign(content);
  }
  if (update.length) {
    // Segments are reclaimed only when nothing in them is live, and this
    // update is live, so it is still there.
    auto newer = read_record(update, RecordType::Update);
    if (!newer) return std::nullopt;
    (void)decode_record(*newer, rec);
    if (!parse_envelope(rec.payload, m.envelope)) return std::nullopt;
  }
  return m;
}

std::optional<Message> LogSpool::show(const std::string& id) const { return load(id); }

void LogSpool::visit(const std::function<void(const QueueEntry&)>& fn) const {
  std::lock_guard lock(index_mu_);
  for (const auto& [id, e] : index_) fn(e.summary);
}

Result<void> LogSpool::remove(const std::string& id) {
  if (!is_valid_queue_id(id)) return make_error("invalid queue id");
  {
    std::lock_guard lock(index_mu_);
    if (index_.find(id) == index_.end()) return make_error("no such message " + id);
  }
  auto done = std::make_shared<std::promise<Result<void>>>();
  auto result = done->get_future();
  erase(id, [done](Result<void> r) { done->set_value(std::move(r)); });
  return result.get();
}

LogSpool::CommitStats LogSpool::commit_stats() const {
  std::lock_guard lock(index_mu_);
  return stats_;
}

}  // namespace volley::queue
