#include "queue/body_file.hpp"

#include "queue/record.hpp"
#include "util/log.hpp"

namespace volley::queue {

std::string body_file_name(const std::string& id) { return std::string(kBodyFilePrefix) + id; }

BodyFile::BodyFile(FileSystem& fs, std::string id, std::string path, int fd)
    : fs_(fs), id_(std::move(id)), path_(std::move(path)), fd_(fd) {}

BodyFile::~BodyFile() {
  if (!kept_) discard();
}

Result<void> BodyFile::append(std::string_view bytes) {
  if (fd_ < 0 || failed_) return make_error(ErrorCode::Io, "body file " + path_ + " is closed");
  if (auto r = fs_.write_all(fd_, bytes); !r) {
    failed_ = true;  // some bytes may be on disk: never commit this body
    return r;
  }
  size_ += bytes.size();
  crc_ = crc32_update(crc_, bytes);
  synced_ = false;
  return {};
}

Result<void> BodyFile::sync() {
  if (fd_ < 0 || failed_) return make_error(ErrorCode::Io, "body file " + path_ + " is closed");
  if (auto r = fs_.fdatasync(fd_); !r) {
    failed_ = true;  // after a failed sync the page cache state is unknown
    return r;
  }
  synced_ = true;
  return {};
}

void BodyFile::discard() {
  if (kept_) return;
  kept_ = true;  // once: nothing more to do whatever happens below
  if (fd_ >= 0) {
    if (auto r = fs_.close(fd_); !r) log::warn("queue.body_close_failed").kv("path", path_).kv("error", r.error().message);
    fd_ = -1;
  }
  // Not synced to the directory: if this unlink is lost in a crash, recovery
  // finds the file unreferenced and removes it.
  if (auto r = fs_.unlink(path_); !r && r.error().code != ErrorCode::NotFound)
    log::error("queue.body_remove_failed").kv("path", path_).kv("error", r.error().message);
}

void BodyFile::keep() {
  kept_ = true;
  if (fd_ >= 0) {
    if (auto r = fs_.close(fd_); !r) log::warn("queue.body_close_failed").kv("path", path_).kv("error", r.error().message);
    fd_ = -1;
  }
}

}  // namespace volley::queue
