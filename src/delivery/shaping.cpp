#include "delivery/shaping.hpp"

#include <algorithm>

#include "util/strings.hpp"

namespace volley::delivery {
namespace {

bool ends_with_label(std::string_view name, std::string_view suffix) {
  // suffix ".example.net": name must end with it and have something before.
  return name.size() > suffix.size() && iequals(name.substr(name.size() - suffix.size()), suffix);
}

}  // namespace

bool shaping_matches(std::string_view pattern, std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (pattern.empty() || name.empty()) return false;
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") return ends_with_label(name, pattern.substr(1));
  if (iequals(pattern, name)) return true;
  return name.size() > pattern.size() && name[name.size() - pattern.size() - 1] == '.' &&
         iequals(name.substr(name.size() - pattern.size()), pattern);
}

int find_shaping_rule(const std::vector<config::ShapingRule>& rules, std::string_view domain,
                      const std::vector<std::string>& mx_hosts) {
  for (size_t i = 0; i < rules.size(); ++i)
    if (shaping_matches(rules[i].match, domain)) return static_cast<int>(i);
  for (size_t i = 0; i < rules.size(); ++i)
    for (const auto& h : mx_hosts)
      if (shaping_matches(rules[i].match, h)) return static_cast<int>(i);
  return -1;
}

RateLimiter::RateLimiter(uint64_t count, std::chrono::milliseconds period) {
  if (count > 0 && period.count() > 0) interval_ms_ = static_cast<double>(period.count()) / static_cast<double>(count);
}

int64_t RateLimiter::reserve(int64_t now_ms) {
  if (interval_ms_ <= 0) return now_ms;
  const double now = static_cast<double>(now_ms);
  const double slot = std::max(now, next_ms_);
  next_ms_ = slot + interval_ms_;
  return static_cast<int64_t>(slot);
}

void Backoff::on_throttle(int64_t now_ms) {
  level_ = std::min(level_ + 1, kMaxLevel);
  // 2 s, 4 s, 8 s ... capped (limits.hpp: kBackoffBase, kMaxBackoffPause).
  const int64_t pause = std::min<int64_t>(limits::kBackoffBase.count() << level_, limits::kMaxBackoffPause.count());
  paused_until_ms_ = std::max(paused_until_ms_, now_ms + pause);
}

void Backoff::on_success() {
  if (level_ > 0) --level_;
}

unsigned Backoff::limit(unsigned configured) const {
  unsigned l = configured >> level_;
  return std::max(1u, l);
}

}  // namespace volley::delivery
