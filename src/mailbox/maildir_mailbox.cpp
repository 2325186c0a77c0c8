#include "mailbox/maildir_mailbox.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>
#include <functional>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "mailbox/dotlock.hpp"
#include "mailbox/maildir.hpp"
#include "mailbox/maildir_name.hpp"
#include "mailbox/uidlist.hpp"
#include "util/file_io.hpp"
#include "util/strings.hpp"

namespace volley::mailbox {
namespace {

// Dovecot: the uidlist lock is stale after 120 s unchanged; it waits up to
// that long for a live holder (mail_storage_get_lock_timeout).
constexpr auto kUidlistStale = std::chrono::seconds(120);
constexpr auto kUidlistWait = std::chrono::seconds(122);
// Renames racing with us: how often an operation looks its file up again.
constexpr int kMaxRelocations = 5;
// Directory scans that saw the directory change while reading are repeated.
constexpr int kMaxScanAttempts = 5;
constexpr size_t kReadChunk = 64 * 1024;

// Threads of this process syncing the same mailbox wait here before the
// dotlock (whose file cannot tell two threads apart). Striped: bounded memory.
constexpr size_t kStripes = 64;
std::array<std::mutex, kStripes> g_stripes;
std::mutex& stripe_for(const std::string& path) { return g_stripes[std::hash<std::string>{}(path) % kStripes]; }

struct DirEntry {
  std::string name;
  bool in_new = false;
};

struct timespec_eq {
  static bool same(const timespec& a, const timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }
};

bool dir_mtime(const std::string& path, timespec& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  out = st.st_mtim;
  return true;
}

Result<void> read_dir(const std::string& dir, bool in_new, std::unordered_map<std::string, DirEntry>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return {};
    return errno_error(concat("opendir ", dir), errno);
  }
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (!is_message_file_name(name)) continue;
    std::string base(maildir_base(name));
    auto it = out.find(base);
    // In both new/ and cur/ (seen mid-rename): cur/ is where it went.
    if (it != out.end() && !it->second.in_new) continue;
    out[std::move(base)] = DirEntry{std::string(name), in_new};
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) return errno_error(concat("readdir ", dir), err);
  return {};
}

// base -> file, from new/ then cur/, repeated while a directory changed
// during the read (a rename between the two reads could hide a file).
Result<std::unordered_map<std::string, DirEntry>> scan(const std::string& maildir, bool& stable) {
  const std::string new_dir = maildir + "/new";
  const std::string cur_dir = maildir + "/cur";
  std::unordered_map<std::string, DirEntry> files;
  for (int attempt = 0; attempt < kMaxScanAttempts; ++attempt) {
    files.clear();
    timespec new_before{}, cur_before{}, new_after{}, cur_after{};
    (void)dir_mtime(new_dir, new_before);
    (void)dir_mtime(cur_dir, cur_before);
    if (auto r = read_dir(new_dir, true, files); !r) return r.error();
    if (auto r = read_dir(cur_dir, false, files); !r) return r.error();
    (void)dir_mtime(new_dir, new_after);
    (void)dir_mtime(cur_dir, cur_after);
    stable = timespec_eq::same(new_before, new_after) && timespec_eq::same(cur_before, cur_after);
    if (stable) break;
  }
  return files;
}

std::string random_guid() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) out += hex[rd() % 16];
  return out;
}

Result<Uidlist> load_uidlist(const std::string& path, bool& created) {
  std::string text;
  created = false;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_error(concat("stat ", path), errno);
  } else if (!read_whole_file(path, text)) {
    return make_error(ErrorCode::Io, concat("cannot read ", path));
  }
  if (text.empty()) {
    // A new mailbox (or an empty file, which Dovecot also recreates).
    created = true;
    Uidlist fresh;
    fresh.uidvalidity = static_cast<uint32_t>(::time(nullptr));
    fresh.next_uid = 1;
    fresh.guid = random_guid();
    return fresh;
  }
  auto parsed = parse_uidlist(text);
  if (!parsed) return make_error(ErrorCode::Io, concat(path, ": ", parsed.error().message));
  return parsed;
}

std::optional<uint64_t> field_number(const UidlistRecord& rec, char key) {
  auto v = rec.field(key);
  return v ? parse_decimal(*v) : std::nullopt;
}

// W= of a file by reading it: its size with every bare LF counted as CRLF.
Result<uint64_t> compute_vsize(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno_error(concat("open ", path), errno);
  std::string buf(kReadChunk, '\0');
  uint64_t total = 0;
  bool prev_cr = false;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return errno_error(concat("read ", path), err);
    }
    if (n == 0) break;
    total += crlf_size_of_chunk(std::string_view(buf.data(), static_cast<size_t>(n)), prev_cr);
  }
  ::close(fd);
  return total;
}

}  // namespace

MaildirMailbox::MaildirMailbox(std::string maildir, FileSystem& fs) : maildir_(std::move(maildir)), fs_(fs) {
  while (maildir_.size() > 1 && maildir_.back() == '/') maildir_.pop_back();
}

std::string MaildirMailbox::file_path(const MessageFile& m) const {
  return concat(maildir_, m.in_new ? "/new/" : "/cur/", m.name);
}

Result<void> MaildirMailbox::create() { return make_maildir(fs_, maildir_); }

Result<MailboxView> MaildirMailbox::sync(const SyncOptions& options) {
  std::lock_guard in_process(stripe_for(maildir_));
  DotlockOptions lock_options;
  lock_options.stale_after = kUidlistStale;
  lock_options.wait = kUidlistWait;
  auto lock = Dotlock::acquire(fs_, concat(maildir_, "/", kUidlistLockName), lock_options);
  if (!lock) return lock.error();

  const std::string uidlist_path = concat(maildir_, "/", kUidlistName);
  bool dirty = false;
  auto loaded = load_uidlist(uidlist_path, dirty);
  if (!loaded) return loaded.error();
  Uidlist& list = *loaded;
  if (list.version != 3 || list.skipped_lines > 0) dirty = true;  // rewrite as clean version 3

  bool stable = false;
  auto scanned = scan(maildir_, stable);
  if (!scanned) return scanned.error();
  auto& files = *scanned;

  // Records whose file is missing: confirm with a second scan before
  // forgetting, so a file renamed while we read is not given a new UID.
  bool any_missing = false;
  for (const auto& rec : list.records)
    if (!files.count(rec.base)) any_missing = true;
  if (any_missing) {
    bool stable_again = false;
    auto again = scan(maildir_, stable_again);
    if (!again) return again.error();
    for (auto& [base, entry] : *again) files.emplace(base, entry);
    stable = stable && stable_again;
  }

  std::vector<UidlistRecord> kept;
  kept.reserve(list.records.size());
  std::unordered_set<std::string> known;
  for (auto& rec : list.records) {
    if (files.count(rec.base) || !stable) {
      known.insert(rec.base);
      kept.push_back(std::move(rec));
    } else {
      dirty = true;  // its file is gone: expunged
    }
  }
  list.records = std::move(kept);

  std::vector<std::string> fresh;
  for (const auto& [base, entry] : files)
    if (!known.count(base)) fresh.push_back(base);
  // Delivery time order, as the names begin with it (numerically: see maildir_name_before).
  std::sort(fresh.begin(), fresh.end(), [](const std::string& a, const std::string& b) { return maildir_name_before(a, b); });
  for (auto& base : fresh) {
    if (list.next_uid >= UINT32_MAX) return make_error(ErrorCode::Io, concat(uidlist_path, ": UIDs exhausted"));
    UidlistRecord rec;
    rec.uid = list.next_uid++;
    rec.base = std::move(base);
    list.records.push_back(std::move(rec));
    dirty = true;
  }

  MailboxView view;
  view.messages.reserve(list.records.size());
  for (auto& rec : list.records) {
    MessageFile m;
    m.uid = rec.uid;
    m.base = rec.base;
    if (auto it = files.find(rec.base); it != files.end()) {
      m.name = it->second.name;
      m.in_new = it->second.in_new;
    } else {
      continue;  // kept only because the scan was unsettled; not listed
    }
    MaildirName parsed = parse_maildir_name(m.name);
    m.flags = parsed.flags;
    m.size = parsed.size ? parsed.size : field_number(rec, 'S');
    m.vsize = parsed.vsize ? parsed.vsize : field_number(rec, 'W');
    if (options.want_vsize && !m.vsize) {
      auto computed = compute_vsize(file_path(m));
      for (int i = 0; !computed && computed.error().code == ErrorCode::NotFound && i < kMaxRelocations; ++i) {
        if (!relocate(m)) break;
        computed = compute_vsize(file_path(m));
      }
      if (computed) {
        m.vsize = *computed;
        rec.set_field('W', std::to_string(*computed));
        dirty = true;
      } else if (computed.error().code != ErrorCode::NotFound) {
        return computed.error();
      } else {
        continue;  // expunged by someone else meanwhile
      }
    }
    view.messages.push_back(std::move(m));
  }
  view.uidvalidity = list.uidvalidity;
  view.next_uid = list.next_uid;

  if (dirty) {
    if (auto r = (*lock)->commit_as(serialize_uidlist(list), uidlist_path); !r) return r.error();
  }
  return view;
}

bool MaildirMailbox::relocate(MessageFile& m) const {
  for (bool in_new : {false, true}) {
    const std::string dir = maildir_ + (in_new ? "/new" : "/cur");
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (!is_message_file_name(name) || maildir_base(name) != m.base) continue;
      m.name = std::string(name);
      m.in_new = in_new;
      m.flags = parse_maildir_name(name).flags;
      ::closedir(d);
      return true;
    }
    ::closedir(d);
  }
  return false;
}

Result<void> MaildirMailbox::change_flags(MessageFile& m, std::string_view add, std::string_view remove) {
  for (int attempt = 0;; ++attempt) {
    std::string flags;
    for (char c : m.flags)
      if (remove.find(c) == std::string_view::npos) flags += c;
    flags += add;
    const std::string target_name = maildir_name_with_flags(m.base, flags);
    if (!m.in_new && target_name == m.name) return {};
    const std::string target = concat(maildir_, "/cur/", target_name);
    auto moved = fs_.rename(file_path(m), target);
    if (moved) {
      m.name = target_name;
      m.in_new = false;
      m.flags = normalize_flags(flags);
      return {};
    }
    if (moved.error().code != ErrorCode::NotFound || attempt >= kMaxRelocations) return moved.error();
    if (!relocate(m)) return make_error(ErrorCode::NotFound, concat("message ", m.base, " is gone"));
  }
}

Result<Expunged> MaildirMailbox::expunge(MessageFile& m) {
  for (int attempt = 0;; ++attempt) {
    const std::string path = file_path(m);
    uint64_t bytes = 0;
    if (m.size) {
      bytes = *m.size;
    } else {
      struct stat st {};
      if (::lstat(path.c_str(), &st) == 0) bytes = static_cast<uint64_t>(st.st_size);
    }
    auto removed = fs_.unlink(path);
    if (removed) return Expunged{true, bytes};
    if (removed.error().code != ErrorCode::NotFound || attempt >= kMaxRelocations) return removed.error();
    if (!relocate(m)) return Expunged{false, 0};
  }
}

Result<void> MaildirMailbox::sync_dirs() {
  if (auto r = fs_.fsync_dir(maildir_ + "/cur"); !r) return r;
  return fs_.fsync_dir(maildir_ + "/new");
}

CrlfMessageReader::~CrlfMessageReader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> CrlfMessageReader::read(std::string& out, size_t max) {
  out.clear();
  if (eof_ || max < 2) return {};
  // Each raw byte becomes at most two: read half of what fits.
  std::string raw(max / 2, '\0');
  ssize_t n;
  do {
    n = ::pread(fd_, raw.data(), raw.size(), static_cast<off_t>(offset_));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("read message", errno);
  if (n == 0) {
    eof_ = true;
    return {};
  }
  offset_ += static_cast<uint64_t>(n);
  out.reserve(static_cast<size_t>(n) * 2);
  for (ssize_t i = 0; i < n; ++i) {
    const char c = raw[static_cast<size_t>(i)];
    if (c == '\n' && !prev_cr_) out += '\r';
    out += c;
    prev_cr_ = c == '\r';
  }
  return {};
}

Result<std::unique_ptr<CrlfMessageReader>> open_message(const MaildirMailbox& box, MessageFile& m) {
  for (int attempt = 0;; ++attempt) {
    const std::string path = box.file_path(m);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) return std::make_unique<CrlfMessageReader>(fd);
    if (errno != ENOENT || attempt >= kMaxRelocations) return errno_error(concat("open ", path), errno);
    if (!box.relocate(m)) return make_error(ErrorCode::NotFound, concat("message ", m.base, " is gone"));
  }
}

}  // namespace volley::mailbox
