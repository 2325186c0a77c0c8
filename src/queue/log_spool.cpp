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

CommitStatus status_for(int err) { return (err == ENOSPC || err == EDQUOT) ? CommitStatus::NoSpace : CommitStatus::Failed; }

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

LogSpool::LogSpool(std::string dir, Options options) : dir_(std::move(dir)), options_(options) {}

std::string LogSpool::segment_path(uint32_t number) const {
  char name[32];
  std::snprintf(name, sizeof name, "/seg-%08u.log", number);
  return dir_ + name;
}

Result<std::unique_ptr<LogSpool>> LogSpool::open(const std::string& data_dir, Options options) {
  for (const auto& d : {data_dir, data_dir + "/queue"})
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return make_error(errno_text("cannot create " + d));
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

void LogSpool::apply_message(const std::string& id, QueueEntry summary, Location where) {
  auto [it, inserted] = index_.try_emplace(id);
  if (!inserted) {
    // Same id twice can only come from a replayed duplicate; keep the newest.
    unpin(it->second.where.segment);
    if (it->second.update.length) unpin(it->second.update.segment);
    it->second.update = Location{};
  }
  it->second.where = where;
  it->second.summary = std::move(summary);
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

void LogSpool::apply_delete(const std::string& id) {
  auto it = index_.find(id);
  if (it == index_.end()) return;
  unpin(it->second.where.segment);
  if (it->second.update.length) unpin(it->second.update.segment);
  index_.erase(it);
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
            apply_message(env.id, summarize(env, content.size()), at);
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
        if (::truncate(segment_path(number).c_str(), static_cast<off_t>(valid_end)) != 0)
          return make_error(errno_text("cannot truncate " + segment_path(number)));
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
  recovery_.messages = index_.size();
  recovery_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  reclaim_segments();
  return {};
}

Result<void> LogSpool::open_active(uint32_t number, bool create) {
  std::string path = segment_path(number);
  int flags = O_WRONLY | O_CLOEXEC | (create ? (O_CREAT | O_EXCL) : 0);
  int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) return make_error(errno_text("cannot open " + path));
  if (create) {
    // The new file must survive a crash before anything in it is acknowledged.
    if (!fsync_dir(dir_)) {
      ::close(fd);
      return make_error(errno_text("cannot sync " + dir_));
    }
    active_size_ = 0;
  }
  if (active_fd_ >= 0) ::close(active_fd_);
  active_fd_ = fd;
  return {};
}

LogSpool::~LogSpool() {
  shutdown();
  if (active_fd_ >= 0) ::close(active_fd_);
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
  job.done(CommitResult{CommitStatus::Failed, "queue is shutting down"});
}

void LogSpool::commit(std::shared_ptr<const Message> message, Callback done) {
  Job job;
  job.record = encode_message_record(*message);
  job.id = message->envelope.id;
  job.summary = summarize(*message);
  job.done = std::move(done);
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

void LogSpool::write_batch(std::vector<Job>& batch) {
  const uint64_t start = active_size_;
  std::vector<iovec> iov;
  iov.reserve(batch.size());
  uint64_t total = 0;
  for (auto& j : batch) {
    iov.push_back(iovec{j.record.data(), j.record.size()});
    total += j.record.size();
  }
  // One pwritev per IOV_MAX records, then one fdatasync for all of them.
  int err = 0;
  uint64_t written = 0;
  size_t first = 0;
  while (first < iov.size() && err == 0) {
    int n = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t w = ::pwritev(active_fd_, &iov[first], n, static_cast<off_t>(start + written));
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    written += static_cast<uint64_t>(w);
    // Advance past fully written vectors; trim a partially written one.
    size_t left = static_cast<size_t>(w);
    while (first < iov.size() && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  if (err == 0 && ::fdatasync(active_fd_) != 0) err = errno;
  if (err != 0) {
    // Nothing of a failed batch may remain: a later successful batch must
    // not make a half-written record look acknowledged.
    if (::ftruncate(active_fd_, static_cast<off_t>(start)) == 0) (void)::fdatasync(active_fd_);
    std::string detail = std::string("queue write failed: ") + std::strerror(err);
    log::error("queue.write_failed").kv("error", std::strerror(err)).kv("records", static_cast<uint64_t>(batch.size()));
    for (auto& j : batch) j.done(CommitResult{status_for(err), detail});
    return;
  }
  active_size_ = start + total;
  {
    std::lock_guard lock(index_mu_);
    uint64_t offset = start;
    const uint32_t seg = segments_.back().number;
    for (auto& j : batch) {
      const Location at{seg, offset, static_cast<uint32_t>(j.record.size())};
      if (j.type == RecordType::Delete)
        apply_delete(j.id);
      else if (j.type == RecordType::Update)
        apply_update(j.id, std::move(j.summary), at);
      else
        apply_message(j.id, std::move(j.summary), at);
      offset += j.record.size();
    }
    ++stats_.batches;
    stats_.records += batch.size();
  }
  for (auto& j : batch) j.done(CommitResult{});
  roll_if_needed();
  reclaim_segments();
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
  for (uint32_t n : dead) ::unlink(segment_path(n).c_str());
  fsync_dir(dir_);
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
  int fd = ::open(segment_path(where.segment).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string buf(where.length, '\0');
  bool complete = read_exact_at(fd, buf, where.offset);
  ::close(fd);
  RecordView rec{};
  if (!complete || decode_record(buf, rec) != DecodeStatus::Ok || rec.type != type) return std::nullopt;
  return buf;
}

std::optional<uint64_t> LogSpool::content_size(const std::string& id) const {
  std::lock_guard lock(index_mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return it->second.summary.size;
}

std::optional<Message> LogSpool::load(const std::string& id) const {
  Location where, update;
  {
    std::lock_guard lock(index_mu_);
    auto it = index_.find(id);
    if (it == index_.end()) return std::nullopt;
    where = it->second.where;
    update = it->second.update;
  }
  auto record = read_record(where, RecordType::Message);
  if (!record) return std::nullopt;
  RecordView rec{};
  (void)decode_record(*record, rec);
  Message m;
  std::string_view content;
  if (!decode_message_payload(rec.payload, m.envelope, content)) return std::nullopt;
  m.content.assign(content);
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
  auto done = std::make_shared<std::promise<CommitResult>>();
  auto result = done->get_future();
  erase(id, [done](CommitResult r) { done->set_value(std::move(r)); });
  CommitResult r = result.get();
  if (r.status != CommitStatus::Ok) return make_error(r.detail);
  return {};
}

LogSpool::CommitStats LogSpool::commit_stats() const {
  std::lock_guard lock(index_mu_);
  return stats_;
}

}  // namespace volley::queue
