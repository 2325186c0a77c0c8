#include "platform/platform.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cstring>

#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

Error file_error(const std::string& what, const std::string& path, int err) {
  return make_error(ErrorCode::Io, concat("platform secret: ", what, " ", path, ": ", std::strerror(err)));
}

Result<std::array<uint8_t, 32>> read_secret(int fd, const std::string& path) {
  std::array<uint8_t, 32> key{};
  size_t got = 0;
  while (got < key.size()) {
    const ssize_t n = ::read(fd, key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != key.size()) return make_error(ErrorCode::Invalid, concat("platform secret ", path, " is not 32 bytes"));
  return key;
}

}  // namespace

Result<std::array<uint8_t, 32>> load_or_create_secret(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    auto key = read_secret(fd, path);
    ::close(fd);
    return key;
  }
  if (errno != ENOENT) return file_error("cannot open", path, errno);
  std::array<uint8_t, 32> key{};
  randombytes_buf(key.data(), key.size());
  // Written under a temporary name and linked into place, so a crash never
  // leaves a short secret and two processes starting at once agree on one.
  const std::string tmp = concat(path, ".tmp.", std::to_string(::getpid()));
  fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return file_error("cannot create", tmp, errno);
  const bool written = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return file_error("cannot write", tmp, err);
  }
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_err = errno;
  ::unlink(tmp.c_str());
  if (linked != 0) {
    if (link_err != EEXIST) return file_error("cannot link", path, link_err);
    return load_or_create_secret(path);  // another process made it first: use theirs
  }
  return key;
}

Platform::Platform(std::unique_ptr<PlatformDb> db, std::array<uint8_t, 32> secret)
    : db_(std::move(db)),
      suppressions_(*db_),
      events_(*db_),
      history_(*db_),
      campaigns_(*db_),
      delivery_events_(events_, history_, suppressions_),
      secret_(secret) {}

Result<std::unique_ptr<Platform>> Platform::open(const std::string& data_dir) {
  auto db = PlatformDb::open(platform_db_path(data_dir));
  if (!db) return db.error();
  auto secret = load_or_create_secret(data_dir.empty() ? std::string("platform.key") : data_dir + "/platform.key");
  if (!secret) return secret.error();
  return std::unique_ptr<Platform>(new Platform(std::move(*db), *secret));
}

void Platform::trim(int64_t now) {
  const int64_t before = now - kHistoryRetentionSeconds;
  if (auto r = history_.trim(before); !r) log::warn("platform.trim_failed").kv("error", r.error().message);
  if (auto r = events_.trim(before); !r) log::warn("platform.trim_failed").kv("error", r.error().message);
  if (auto r = campaigns_.trim(before); !r) log::warn("platform.trim_failed").kv("error", r.error().message);
}

}  // namespace volley::platform
