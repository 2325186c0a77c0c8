#include "mta_sts/cache.hpp"

#include <fcntl.h>

#include <charconv>
#include <filesystem>

#include "mta_sts/limits.hpp"
#include "util/file_io.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::mta_sts {
namespace {

constexpr std::string_view kSuffix = ".policy";

// Lowercase letters, digits, '-' and '.', no leading dot, no "..": a
// domain that can name a file under the cache directory and nothing else.
bool plain_domain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.find("..") != std::string_view::npos) return false;
  for (char c : d)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  return true;
}

std::optional<int64_t> number_after(std::string_view line, std::string_view key) {
  if (line.substr(0, key.size()) != key) return std::nullopt;
  std::string_view v = trim(line.substr(key.size()));
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return n;
}

}  // namespace

std::string PolicyCache::serialize(const CachedPolicy& p) {
  return concat("id: ", p.id, "\r\nfetched_at: ", std::to_string(p.fetched_at), "\r\nexpires_at: ",
                std::to_string(p.expires_at), "\r\n\r\n", policy_text(p.policy));
}

Result<CachedPolicy> PolicyCache::deserialize(std::string_view text) {
  size_t split = text.find("\r\n\r\n");
  if (split == std::string_view::npos) return make_error(ErrorCode::Invalid, "no header in cached policy");
  std::string_view head = text.substr(0, split + 2);
  CachedPolicy c;
  int seen = 0;
  while (!head.empty()) {
    size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    if (line.substr(0, 4) == "id: ") {
      c.id = std::string(trim(line.substr(4)));
      ++seen;
    } else if (auto f = number_after(line, "fetched_at: ")) {
      c.fetched_at = *f;
      ++seen;
    } else if (auto e = number_after(line, "expires_at: ")) {
      c.expires_at = *e;
      ++seen;
    }
  }
  if (seen != 3) return make_error(ErrorCode::Invalid, "cached policy header incomplete");
  auto p = parse_policy(text.substr(split + 4));
  if (!p) return p.error();
  c.policy = std::move(*p);
  return c;
}

Result<std::unique_ptr<PolicyCache>> PolicyCache::open(const std::string& dir, FileSystem& fs) {
  if (auto made = fs.mkdir(dir, 0700); !made) return made.error();
  std::unique_ptr<PolicyCache> cache(new PolicyCache(dir, fs));
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= kSuffix.size() || name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
      continue;  // temporary files of an interrupted write, anything else
    const std::string domain = name.substr(0, name.size() - kSuffix.size());
    std::string text;
    if (!plain_domain(domain) || !read_whole_file(entry.path().string(), text)) continue;
    auto parsed = deserialize(text);
    if (!parsed) {
      log::warn("mta_sts.cache_unreadable").kv("file", entry.path().string()).kv("error", parsed.error().message);
      continue;
    }
    if (cache->policies_.size() >= limits::kMaxCachedPolicies) break;
    cache->policies_.emplace(domain, std::move(*parsed));
  }
  if (ec) return make_error(ErrorCode::Io, "cannot read " + dir + ": " + ec.message());
  return cache;
}

std::optional<CachedPolicy> PolicyCache::get(const std::string& domain, int64_t now) const {
  std::lock_guard lock(mu_);
  auto it = policies_.find(to_lower(domain));
  if (it == policies_.end() || it->second.expires_at <= now) return std::nullopt;
  return it->second;
}

Result<void> PolicyCache::put(const std::string& domain_in, const CachedPolicy& p) {
  const std::string domain = to_lower(domain_in);
  if (!plain_domain(domain)) return make_error(ErrorCode::Invalid, "not a plain domain name: " + printable(domain, 64));
  {
    std::lock_guard lock(mu_);
    if (!policies_.count(domain) && policies_.size() >= limits::kMaxCachedPolicies)
      return make_error(ErrorCode::RateLimited, "MTA-STS policy cache is full");
  }
  const std::string path = dir_ + "/" + domain + std::string(kSuffix);
  const std::string tmp = path + ".tmp";
  auto fd = fs_.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
  if (!fd) return fd.error();
  Result<void> r = fs_.write_all(*fd, serialize(p));
  if (r) r = fs_.fsync(*fd);
  if (auto closed = fs_.close(*fd); r && !closed) r = closed;
  if (r) r = fs_.rename(tmp, path);
  if (r) r = fs_.fsync_dir(dir_);
  if (!r) {
    (void)fs_.unlink(tmp);
    return r;
  }
  std::lock_guard lock(mu_);
  policies_[domain] = p;
  return {};
}

size_t PolicyCache::size() const {
  std::lock_guard lock(mu_);
  return policies_.size();
}

}  // namespace volley::mta_sts
