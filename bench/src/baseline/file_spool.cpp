#include "baseline/file_spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/file_io.hpp"
#include "util/file_system.hpp"
#include "queue/queue_id.hpp"
#include "util/log.hpp"

namespace volley::queue {
namespace {
constexpr std::string_view kMagic = "VOLLEY-SPOOL 1\n";

bool make_dir(const std::string& path) { return ::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST; }

Result<void> failure(int err, const std::string& what) { return errno_error(what, err); }

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<FileSpool>> FileSpool::open(const std::string& data_dir, unsigned workers) {
  std::string dir = data_dir + "/spool";
  for (const auto& d : {data_dir, dir, dir + "/tmp", dir + "/msg"})
    if (!make_dir(d)) return make_error("cannot create " + d + ": " + std::strerror(errno));
  // Files in tmp/ were never acknowledged with 250: remove them.
  if (DIR* dp = ::opendir((dir + "/tmp").c_str())) {
    while (dirent* e = ::readdir(dp)) {
      if (e->d_name[0] == '.') continue;
      std::string p = dir + "/tmp/" + e->d_name;
      if (::unlink(p.c_str()) == 0) log::warn("spool.tmp_removed").kv("file", p);
    }
    ::closedir(dp);
  }
  return std::unique_ptr<FileSpool>(new FileSpool(dir, workers == 0 ? 1 : workers));
}

FileSpool::FileSpool(std::string dir, unsigned workers) : dir_(std::move(dir)) {
  for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

FileSpool::~FileSpool() { shutdown(); }

void FileSpool::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

void FileSpool::commit(std::shared_ptr<const Message> message, Callback done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      jobs_.emplace_back(std::move(message), std::move(done));
      cv_.notify_one();
      return;
    }
  }
  done(make_error(ErrorCode::Io, "spool is shutting down"));
}

void FileSpool::worker_loop() {
  for (;;) {
    std::pair<std::shared_ptr<const Message>, Callback> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      // Drain the queue even when stopping: every accepted job gets its answer.
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job.second(write_durably(*job.first));
  }
}

Result<void> FileSpool::write_durably(const Message& message) {
  const std::string& id = message.envelope.id;
  if (!is_valid_queue_id(id)) return make_error(ErrorCode::Invalid, "invalid queue id");
  std::string tmp = dir_ + "/tmp/" + id;
  std::string final_path = dir_ + "/msg/" + id;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return failure(errno, "open " + tmp);
  std::string head(kMagic);
  head += serialize_envelope(message.envelope);
  head += '\n';
  bool ok = write_all(fd, head) && write_all(fd, message.content) && ::fdatasync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return failure(err, "write " + tmp);
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    return failure(err, "rename " + tmp);
  }
  if (auto synced = posix_file_system().fsync_dir(dir_ + "/msg"); !synced) {
    // The rename may or may not survive a crash; withdraw it so that a
    // failure reported to the client never leaves a message behind.
    ::unlink(final_path.c_str());
    return synced;
  }
  return {};
}

std::vector<std::string> FileSpool::list_ids() const {
  std::vector<std::string> ids;
  if (DIR* dp = ::opendir((dir_ + "/msg").c_str())) {
    while (dirent* e = ::readdir(dp))
      if (is_valid_queue_id(e->d_name)) ids.emplace_back(e->d_name);
    ::closedir(dp);
  }
  return ids;
}

std::optional<Message> FileSpool::read(const std::string& id) const {
  if (!is_valid_queue_id(id)) return std::nullopt;
  std::string data;
  if (!read_whole_file(dir_ + "/msg/" + id, data)) return std::nullopt;
  if (data.compare(0, kMagic.size(), kMagic) != 0) return std::nullopt;
  size_t end = data.find("\n\n", kMagic.size());
  if (end == std::string::npos) return std::nullopt;
  Message m;
  if (!parse_envelope(std::string_view(data).substr(kMagic.size(), end + 1 - kMagic.size()), m.envelope))
    return std::nullopt;
  m.content = data.substr(end + 2);
  return m;
}

}  // namespace volley::queue
