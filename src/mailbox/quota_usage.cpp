#include "mailbox/quota_usage.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <vector>

#include "util/strings.hpp"

namespace volley::mailbox {
namespace {

// Numbers have at most 18 digits, and so must the totals (a file is written
// back as one summary line): a total beyond kMaxTotal means the file is
// nonsense and is recounted. Checked after each line, so a sum never
// overflows (two values below 10^18 add to less than INT64_MAX).
constexpr size_t kMaxDigits = 18;
constexpr int64_t kMaxTotal = 999'999'999'999'999'999;

Error invalid(std::string what) { return make_error(ErrorCode::Invalid, concat("maildirsize: ", what)); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [spaces] ['-'] digits: advances `p`; false on anything else.
bool read_signed(std::string_view s, size_t& p, int64_t& out) {
  while (p < s.size() && s[p] == ' ') ++p;
  bool negative = false;
  if (p < s.size() && s[p] == '-') {
    negative = true;
    ++p;
  }
  const size_t start = p;
  int64_t v = 0;
  while (p < s.size() && is_digit(s[p])) {
    if (p - start == kMaxDigits) return false;  // checked before multiplying: no overflow
    v = v * 10 + (s[p++] - '0');
  }
  if (p == start) return false;
  out = negative ? -v : v;
  return true;
}

// "<bytes> <count>" with optional padding (Courier pads its numbers).
bool parse_delta_line(std::string_view line, QuotaUsage& delta) {
  size_t p = 0;
  if (!read_signed(line, p, delta.bytes)) return false;
  if (p >= line.size() || line[p] != ' ') return false;
  if (!read_signed(line, p, delta.count)) return false;
  while (p < line.size() && line[p] == ' ') ++p;
  return p == line.size();
}

Error errno_failure(const std::string& what, int err) {
  return make_error(err == ENOSPC || err == EDQUOT ? ErrorCode::NoSpace : ErrorCode::Io,
                    concat(what, ": ", std::strerror(err)));
}

std::string size_file(const std::string& maildir) { return concat(maildir, "/", kMaildirSizeFile); }

// Up to kMaildirSizeMaxBytes + 1 bytes of the file (one more than the
// parser accepts, so "too large" is seen). nullopt: missing or unreadable.
std::optional<std::string> read_size_file(const std::string& maildir) {
  const int fd = ::open(size_file(maildir).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  std::string buf(kMaildirSizeMaxBytes + 1, '\0');
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  buf.resize(got);
  return buf;
}

// Adds the files of one new/ or cur/ directory. A missing directory is empty.
Result<void> sum_directory(const std::string& dir, QuotaUsage& total) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return {};
    return errno_failure(concat("opendir ", dir), errno);
  }
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    if (auto size = size_from_file_name(name)) {
      total.bytes += static_cast<int64_t>(*size);
      ++total.count;
      continue;
    }
    struct stat st {};
    const std::string path = concat(dir, "/", name);
    if (::stat(path.c_str(), &st) == 0) {
      if (!S_ISREG(st.st_mode)) continue;
      total.bytes += st.st_size;
      ++total.count;
    }
    // Gone meanwhile (expunged, moved to cur/): counted where it went, or not at all.
  }
  ::closedir(d);
  return {};
}

Result<void> sum_mailbox(const std::string& dir, QuotaUsage& total) {
  if (auto r = sum_directory(concat(dir, "/new"), total); !r) return r;
  return sum_directory(concat(dir, "/cur"), total);
}

// Written next to maildirsize (same file system, so rename is atomic).
std::string temp_name(const std::string& maildir) {
  static std::atomic<uint64_t> counter{0};
  std::string name = size_file(maildir);
  name += ".tmp.";
  name += std::to_string(::getpid());
  name += '.';
  name += std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
  return name;
}

Result<void> write_size_file(const std::string& maildir, const std::string& content) {
  const std::string tmp = temp_name(maildir);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return errno_failure(concat("create ", tmp), errno);
  const ssize_t n = ::write(fd, content.data(), content.size());
  const int write_errno = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(content.size())) {
    ::unlink(tmp.c_str());
    return errno_failure(concat("write ", tmp), n < 0 ? write_errno : EIO);
  }
  if (::rename(tmp.c_str(), size_file(maildir).c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return errno_failure(concat("rename ", tmp), err);
  }
  return {};
}

bool over_limits(const QuotaLimits& l, const QuotaUsage& u) {
  return (l.bytes != 0 && u.bytes > static_cast<int64_t>(std::min<uint64_t>(l.bytes, INT64_MAX))) ||
         (l.count != 0 && u.count > static_cast<int64_t>(std::min<uint64_t>(l.count, INT64_MAX)));
}

// A parsed file the caller may use as it is, for these limits.
bool trustworthy(const MaildirSize& f, const QuotaLimits& limits) {
  if (!(f.limits == limits)) return false;  // rewrite with ours
  // Appends drift (a crash between delivery and append, a concurrent
  // rescan): before an over-quota answer refuses mail, recount.
  return !(over_limits(limits, f.usage) && f.delta_lines > 1);
}

}  // namespace

Result<QuotaLimits> parse_quota_limits(std::string_view line) {
  QuotaLimits l;
  if (line.empty()) return l;
  size_t p = 0;
  while (p <= line.size()) {
    size_t comma = line.find(',', p);
    if (comma == std::string_view::npos) comma = line.size();
    const std::string_view item = line.substr(p, comma - p);
    if (item.size() < 2 || item.size() - 1 > 20) return invalid(concat("bad limit ", quoted(item, 24)));
    uint64_t v = 0;
    for (size_t i = 0; i + 1 < item.size(); ++i) {
      if (!is_digit(item[i])) return invalid("bad limit");
      const uint64_t digit = static_cast<uint64_t>(item[i] - '0');
      if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) return invalid("limit too large");
      v = v * 10 + digit;
    }
    if (item.back() == 'S')
      l.bytes = v;
    else if (item.back() == 'C')
      l.count = v;
    else
      return invalid("unknown limit kind");
    p = comma + 1;
  }
  return l;
}

Result<MaildirSize> parse_maildirsize(std::string_view bytes) {
  if (bytes.size() >= kMaildirSizeMaxBytes) return invalid(concat("grown to ", std::to_string(bytes.size()), " bytes"));
  if (bytes.find('\0') != std::string_view::npos) return invalid("NUL byte");
  const size_t last_lf = bytes.rfind('\n');
  if (last_lf == std::string_view::npos) return invalid("no complete line");
  bytes = bytes.substr(0, last_lf + 1);  // an unfinished last line is not counted yet

  MaildirSize out;
  size_t p = bytes.find('\n');
  auto limits = parse_quota_limits(bytes.substr(0, p));
  if (!limits) return limits.error();
  out.limits = *limits;
  ++p;
  while (p < bytes.size()) {
    const size_t end = bytes.find('\n', p);
    QuotaUsage delta;
    if (!parse_delta_line(bytes.substr(p, end - p), delta)) return invalid("bad line");
    out.usage.bytes += delta.bytes;
    out.usage.count += delta.count;
    if (out.usage.bytes > kMaxTotal || out.usage.bytes < -kMaxTotal || out.usage.count > kMaxTotal ||
        out.usage.count < -kMaxTotal)
      return invalid("usage out of range");
    ++out.delta_lines;
    p = end + 1;
  }
  if (out.delta_lines == 0) return invalid("no usage lines");
  if (out.usage.bytes < 0 || out.usage.count < 0) return invalid("negative usage");
  return out;
}

std::string format_maildirsize(const QuotaLimits& limits, const QuotaUsage& usage) {
  std::string s;
  // "0S" rather than an empty line when there are no limits (as Dovecot
  // writes it; an empty first line confuses some readers).
  if (limits.bytes != 0 || limits.count == 0) {
    s += std::to_string(limits.bytes);
    s += 'S';
  }
  if (limits.count != 0) {
    if (!s.empty()) s += ',';
    s += std::to_string(limits.count);
    s += 'C';
  }
  s += '\n';
  s += format_quota_delta(usage.bytes, usage.count);
  return s;
}

std::string format_quota_delta(int64_t bytes, int64_t count) {
  std::string s = std::to_string(bytes);
  s += ' ';
  s += std::to_string(count);
  s += '\n';
  return s;
}

std::optional<uint64_t> size_from_file_name(std::string_view name) {
  const size_t at = name.find(",S=");
  if (at == std::string_view::npos) return std::nullopt;
  size_t p = at + 3;
  const size_t start = p;
  uint64_t v = 0;
  while (p < name.size() && is_digit(name[p]) && p - start < kMaxDigits) v = v * 10 + static_cast<uint64_t>(name[p++] - '0');
  if (p == start) return std::nullopt;
  if (p < name.size() && name[p] != ',' && name[p] != ':') return std::nullopt;
  return v;
}

Result<QuotaUsage> scan_usage(const std::string& maildir) {
  QuotaUsage total;
  if (auto r = sum_mailbox(maildir, total); !r) return r.error();
  DIR* d = ::opendir(maildir.c_str());
  if (!d) {
    if (errno == ENOENT) return total;  // no mail delivered yet
    return errno_failure(concat("opendir ", maildir), errno);
  }
  // Maildir++ folders: ".Name" directories (not "." and "..").
  std::vector<std::string> folders;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() < 2 || name[0] != '.' || name == "..") continue;
    folders.emplace_back(name);
  }
  ::closedir(d);
  for (const auto& f : folders)
    if (auto r = sum_mailbox(concat(maildir, "/", f), total); !r) return r.error();
  return total;
}

Result<QuotaUsage> recalc_usage(const std::string& maildir, const QuotaLimits& limits) {
  auto usage = scan_usage(maildir);
  if (!usage) return usage;
  struct stat st {};
  if (::stat(maildir.c_str(), &st) != 0) return usage;  // no mailbox yet: nothing to write into
  if (auto w = write_size_file(maildir, format_maildirsize(limits, *usage)); !w) return w.error();
  return usage;
}

Result<QuotaUsage> read_usage(const std::string& maildir, const QuotaLimits& limits) {
  if (auto bytes = read_size_file(maildir)) {
    auto parsed = parse_maildirsize(*bytes);
    if (parsed && trustworthy(*parsed, limits)) return parsed->usage;
  }
  return recalc_usage(maildir, limits);
}

std::optional<QuotaUsage> peek_usage(const std::string& maildir) {
  auto bytes = read_size_file(maildir);
  if (!bytes) return std::nullopt;
  auto parsed = parse_maildirsize(*bytes);
  if (!parsed) return std::nullopt;
  return parsed->usage;
}

Result<void> add_usage(const std::string& maildir, int64_t bytes, int64_t count, const QuotaLimits& limits) {
  if (bytes == 0 && count == 0) return {};
  auto current = read_size_file(maildir);
  auto parsed = current ? parse_maildirsize(*current) : Result<MaildirSize>(invalid("missing"));
  const std::string line = format_quota_delta(bytes, count);
  // Appending would push the file past the size readers accept: rewrite it.
  if (!parsed || !(parsed->limits == limits) || current->size() + line.size() >= kMaildirSizeMaxBytes) {
    auto r = recalc_usage(maildir, limits);
    if (!r) return r.error();
    return {};
  }
  const int fd = ::open(size_file(maildir).c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno_failure(concat("open ", size_file(maildir)), errno);
  // One write() of one short line: O_APPEND makes it atomic against other
  // writers (Volley's threads, Dovecot, Courier), as Maildir++ requires.
  const ssize_t n = ::write(fd, line.data(), line.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size())) return errno_failure(concat("append to ", size_file(maildir)), n < 0 ? err : EIO);
  return {};
}

}  // namespace volley::mailbox
