#include "mailbox/maildir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "util/file_io.hpp"
#include "util/strings.hpp"

namespace volley::mailbox {
namespace {

// A name collision needs the same microsecond, pid and counter, so one retry
// is already paranoid; the cap only keeps a broken clock from looping forever.
constexpr int kMaxNameAttempts = 16;
constexpr size_t kMaxComponent = 255;  // NAME_MAX

// Process-wide, so threads delivering at the same microsecond get distinct names.
std::atomic<uint64_t> g_counter{0};

Error sys_error(const std::string& what, int err) { return make_error(what + ": " + std::strerror(err)); }

// Empty, ".", "..", hidden names (leading '.': Maildir++ folders live there),
// '/', NUL and control bytes would let an address escape or alias a mailbox.
bool safe_component(std::string_view s) {
  if (s.empty() || s.size() > kMaxComponent || s.front() == '.') return false;
  for (unsigned char c : s)
    if (c == '/' || c < 0x20 || c == 0x7F) return false;
  return true;
}

bool make_dir(const std::string& path) { return ::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST; }

// mkdir -p for the maildir itself plus tmp/, new/ and cur/. An existing
// non-directory in the way surfaces as ENOTDIR on the next step.
Result<void> make_maildir(const std::string& maildir) {
  for (size_t pos = 1; pos <= maildir.size(); ++pos) {
    if (pos < maildir.size() && maildir[pos] != '/') continue;
    const std::string prefix = maildir.substr(0, pos);
    if (!make_dir(prefix)) return sys_error("cannot create " + prefix, errno);
  }
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    const std::string d = maildir + sub;
    if (!make_dir(d)) return sys_error("cannot create " + d, errno);
  }
  return {};
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string sanitize_value(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return out;
}

}  // namespace

Result<std::string> maildir_for(std::string_view mail_root, std::string_view address) {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return make_error("address has no domain");
  const std::string local = to_lower(address.substr(0, at));
  const std::string domain = to_lower(address.substr(at + 1));
  if (!safe_component(domain)) return make_error("domain is not usable as a mailbox path");
  if (!safe_component(local)) return make_error("local part is not usable as a mailbox path");
  std::string root(mail_root);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root + "/" + domain + "/" + local;
}

std::string unique_name(int64_t secs, int64_t usecs, long pid, uint64_t counter, std::string_view hostname,
                        uint64_t size) {
  std::string host;
  for (char c : hostname.empty() ? std::string_view("localhost") : hostname) {
    if (c == '/') {
      host += "\\057";
    } else if (c == ':') {
      host += "\\072";
    } else {
      host += c;
    }
  }
  const std::string sz = std::to_string(size);
  return std::to_string(secs) + ".M" + std::to_string(usecs) + "P" + std::to_string(pid) + "Q" +
         std::to_string(counter) + "." + host + ",S=" + sz + ",W=" + sz;
}

std::string delivery_headers(std::string_view sender, std::string_view recipient) {
  return "Return-Path: <" + sanitize_value(sender) + ">\r\nDelivered-To: " + sanitize_value(recipient) + "\r\n";
}

Result<DeliveredFile> deliver(const std::string& maildir, std::string_view prefix, std::string_view content,
                              std::string_view hostname) {
  const uint64_t size = prefix.size() + content.size();
  bool created_dirs = false;
  std::string name;
  std::string tmp_path;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    if (attempt >= kMaxNameAttempts) return make_error("no unique file name in " + maildir + "/tmp");
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    name = unique_name(ts.tv_sec, ts.tv_nsec / 1000, static_cast<long>(::getpid()),
                       g_counter.fetch_add(1, std::memory_order_relaxed), hostname, size);
    tmp_path = maildir + "/tmp/" + name;
    fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) break;
    const int err = errno;
    if (err == EEXIST || err == EINTR) continue;
    // First delivery to this mailbox: create it, then try again. Checking
    // on failure keeps the common case at one open().
    if (err == ENOENT && !created_dirs) {
      created_dirs = true;
      auto made = make_maildir(maildir);
      if (!made) return made.error();
      continue;
    }
    return sys_error("cannot create " + tmp_path, err);
  }

  auto fail = [&](const std::string& what, int err) -> Result<DeliveredFile> {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp_path.c_str());
    return sys_error(what, err);
  };
  if (!write_all(fd, prefix) || !write_all(fd, content)) return fail("cannot write " + tmp_path, errno);
  if (::fsync(fd) != 0) return fail("cannot sync " + tmp_path, errno);
  if (::close(fd) != 0) {
    fd = -1;
    return fail("cannot close " + tmp_path, errno);
  }
  fd = -1;
  const std::string new_dir = maildir + "/new";
  const std::string new_path = new_dir + "/" + name;
  if (::rename(tmp_path.c_str(), new_path.c_str()) != 0) return fail("cannot move into " + new_dir, errno);
  if (!fsync_dir(new_dir)) {
    // Not durable, so not delivered: take it back (best effort; a reader may
    // already have moved it, and then the retry makes a duplicate, which
    // at-least-once delivery allows).
    const int err = errno;
    ::unlink(new_path.c_str());
    return sys_error("cannot sync " + new_dir, err);
  }
  return DeliveredFile{new_path, size};
}

}  // namespace volley::mailbox
