#include "mailbox/maildir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "delivery/limits.hpp"
#include "mailbox/maildir_name.hpp"
#include "util/strings.hpp"

namespace volley::mailbox {
namespace {

// A name collision needs the same microsecond, pid and counter, so one retry
// is already paranoid; the cap only keeps a broken clock from looping forever.
constexpr int kMaxNameAttempts = delivery::limits::kMaxMaildirNameAttempts;
constexpr size_t kMaxComponent = 255;  // NAME_MAX

// Process-wide, so threads delivering at the same microsecond get distinct names.
std::atomic<uint64_t> g_counter{0};

// Delivery failures are temporary whatever errno said (a missing or
// unwritable directory is fixed by an operator, not by bouncing): only a
// full disk keeps its own code, NoSpace.
Error temporary(const Error& e) {
  return make_error(e.code == ErrorCode::NoSpace ? ErrorCode::NoSpace : ErrorCode::Io, e.message);
}

// Empty, ".", "..", hidden names (leading '.': Maildir++ folders live there),
// '/', NUL and control bytes would let an address escape or alias a mailbox.
bool safe_component(std::string_view s) {
  if (s.empty() || s.size() > kMaxComponent || s.front() == '.') return false;
  for (unsigned char c : s)
    if (c == '/' || c < 0x20 || c == 0x7F) return false;
  return true;
}

std::string sanitize_value(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return out;
}

}  // namespace

// An existing non-directory in the way surfaces as ENOTDIR on the next step.
Result<void> make_maildir(FileSystem& fs, const std::string& maildir) {
  for (size_t pos = 1; pos <= maildir.size(); ++pos) {
    if (pos < maildir.size() && maildir[pos] != '/') continue;
    if (auto made = fs.mkdir(maildir.substr(0, pos), 0700); !made) return made.error();
  }
  for (const char* sub : {"/tmp", "/new", "/cur"})
    if (auto made = fs.mkdir(maildir + sub, 0700); !made) return made.error();
  return {};
}

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

Result<std::string> folder_maildir(std::string_view maildir, std::string_view folder) {
  if (folder.empty()) return std::string(maildir);
  constexpr size_t kMaxFolderName = 64;  // our names are short; a long one is corruption
  bool ok = folder.size() <= kMaxFolderName;
  for (char c : folder)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) ok = false;
  if (!ok) return make_error(ErrorCode::Invalid, concat("not a usable folder name: ", quoted(folder, 80)));
  return concat(maildir, "/.", folder);
}

std::string unique_name(int64_t secs, int64_t usecs, long pid, uint64_t counter, std::string_view hostname,
                        uint64_t size, std::optional<uint64_t> vsize) {
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
  return concat(std::to_string(secs), ".M", std::to_string(usecs), "P", std::to_string(pid), "Q",
                std::to_string(counter), ".", host, ",S=", std::to_string(size), ",W=",
                std::to_string(vsize.value_or(size)));
}

std::string delivery_headers(std::string_view sender, std::string_view recipient) {
  return "Return-Path: <" + sanitize_value(sender) + ">\r\nDelivered-To: " + sanitize_value(recipient) + "\r\n";
}

Result<StagedFile> stage(FileSystem& fs, const std::string& maildir, std::string_view prefix,
                         std::string_view content, std::string_view hostname) {
  StagedFile f;
  f.maildir = maildir;
  f.size = prefix.size() + content.size();
  // W= is what POP3 LIST reports: count the bare LFs once, here, so no
  // reader ever has to open the file for it.
  bool prev_cr = false;
  f.vsize = crlf_size_of_chunk(prefix, prev_cr);
  f.vsize += crlf_size_of_chunk(content, prev_cr);
  bool created_dirs = false;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    if (attempt >= kMaxNameAttempts) return make_error(ErrorCode::Io, "no unique file name in " + maildir + "/tmp");
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    f.name = unique_name(ts.tv_sec, ts.tv_nsec / 1000, static_cast<long>(::getpid()),
                         g_counter.fetch_add(1, std::memory_order_relaxed), hostname, f.size, f.vsize);
    auto opened = fs.open(f.tmp_path(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (opened) {
      fd = *opened;
      break;
    }
    if (opened.error().code == ErrorCode::AlreadyExists) continue;
    // First delivery to this mailbox: create it, then try again. Checking
    // on failure keeps the common case at one open().
    if (opened.error().code == ErrorCode::NotFound && !created_dirs) {
      created_dirs = true;
      if (auto made = make_maildir(fs, maildir); !made) return temporary(made.error());
      continue;
    }
    return temporary(opened.error());
  }
  auto fail = [&](const Error& e) -> Result<StagedFile> {
    (void)fs.close(fd);
    discard(fs, f);
    return temporary(e);
  };
  if (auto w = fs.write_all(fd, prefix); !w) return fail(w.error());
  if (auto w = fs.write_all(fd, content); !w) return fail(w.error());
  if (auto synced = fs.fsync(fd); !synced) return fail(synced.error());
  if (auto closed = fs.close(fd); !closed) {
    discard(fs, f);
    return temporary(closed.error());
  }
  return f;
}

Result<DeliveredFile> publish(FileSystem& fs, const StagedFile& f) {
  auto moved = fs.rename(f.tmp_path(), f.new_path());
  // new/ missing: an earlier first delivery failed half-way through creating
  // the maildir (tmp/ made, new/ not). Complete it and try once more.
  if (!moved && moved.error().code == ErrorCode::NotFound) {
    auto made = make_maildir(fs, f.maildir);
    moved = made ? fs.rename(f.tmp_path(), f.new_path()) : made;
  }
  if (!moved) {
    discard(fs, f);
    return temporary(moved.error());
  }
  if (auto synced = fs.fsync_dir(f.maildir + "/new"); !synced) {
    // Not durable, so not delivered: take it back (best effort; a reader may
    // already have moved it, and then the retry makes a duplicate, which
    // at-least-once delivery allows).
    (void)fs.unlink(f.new_path());
    return temporary(synced.error());
  }
  return DeliveredFile{f.new_path(), f.size};
}

void discard(FileSystem& fs, const StagedFile& f) { (void)fs.unlink(f.tmp_path()); }

Result<DeliveredFile> deliver(const std::string& maildir, std::string_view prefix, std::string_view content,
                              std::string_view hostname, FileSystem& fs) {
  auto staged = stage(fs, maildir, prefix, content, hostname);
  if (!staged) return staged.error();
  return publish(fs, *staged);
}

}  // namespace volley::mailbox
