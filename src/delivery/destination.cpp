#include "delivery/destination.hpp"

#include <algorithm>

#include "delivery/limits.hpp"

namespace volley::delivery {

void Destination::add(Job job, int64_t now_ms) {
  jobs_.push_back(std::move(job));
  last_used_ms_ = now_ms;
}

Job Destination::take() {
  Job job = std::move(jobs_.front());
  jobs_.pop_front();
  return job;
}

std::deque<Job> Destination::take_all() {
  std::deque<Job> jobs;
  jobs.swap(jobs_);
  return jobs;
}

std::optional<unsigned> Destination::rule_connection_cap(const config::DeliverySection& del) const {
  if (rule_ < 0 || static_cast<size_t>(rule_) >= del.shaping.size()) return std::nullopt;
  unsigned cap = del.shaping[static_cast<size_t>(rule_)].max_connections;
  if (cap == 0) return std::nullopt;  // 0 = inherit the default
  return cap;
}

unsigned Destination::connection_limit(const config::DeliverySection& del) const {
  return backoff_.limit(rule_connection_cap(del).value_or(del.default_max_connections_per_domain));
}

unsigned Destination::connections_wanted(unsigned woken, unsigned limit) const {
  const size_t covered = static_cast<size_t>(starting_) + woken;
  if (jobs_.size() <= covered || connections_ >= limit) return 0;
  return static_cast<unsigned>(std::min<size_t>(jobs_.size() - covered, limit - connections_));
}

void Destination::unpark_idle(const std::shared_ptr<asio::steady_timer>& t) {
  idle_.erase(std::remove(idle_.begin(), idle_.end(), t), idle_.end());
}

size_t Destination::wake_idle(size_t n) {
  size_t woken = 0;
  while (woken < n && !idle_.empty()) {
    idle_.back()->cancel();
    idle_.pop_back();
    ++woken;
  }
  return woken;
}

void Destination::refresh_rule(const config::DeliverySection& del, uint64_t generation) {
  if (rule_generation_ == generation) return;
  rule_generation_ = generation;
  rule_ = find_shaping_rule(del.shaping, domain_, {});
}

void Destination::match_rule_by_hosts(const config::DeliverySection& del, const std::vector<std::string>& hosts) {
  if (rule_ < 0) rule_ = find_shaping_rule(del.shaping, domain_, hosts);
}

std::optional<std::vector<Endpoint>> Destination::cached_route(int64_t now_ms, std::mt19937& rng) const {
  if (endpoints_.empty() || now_ms >= endpoints_expire_ms_) return std::nullopt;
  std::vector<Endpoint> eps = endpoints_;
  for (size_t i = 0; i < eps.size();) {
    size_t j = i + 1;
    while (j < eps.size() && endpoint_rank_[j] == endpoint_rank_[i]) ++j;
    std::shuffle(eps.begin() + static_cast<std::ptrdiff_t>(i), eps.begin() + static_cast<std::ptrdiff_t>(j), rng);
    i = j;
  }
  return eps;
}

void Destination::remember_route(std::vector<Endpoint> endpoints, std::vector<uint32_t> ranks, int64_t now_ms) {
  ranks.resize(endpoints.size(), 0);
  endpoints_ = std::move(endpoints);
  endpoint_rank_ = std::move(ranks);
  endpoints_expire_ms_ = now_ms + limits::kRouteCacheTime.count();
}

void Destination::suspend(const RcptOutcome& why, int64_t until_ms) {
  suspend_reason_ = why;
  suspended_until_ms_ = until_ms;
  endpoints_.clear();  // resolve again next time
  endpoint_rank_.clear();
}

bool Destination::forgettable(int64_t now_ms) const {
  return jobs_.empty() && connections_ == 0 && now_ms - last_used_ms_ > limits::kForgetIdleDestination.count() &&
         !suspended(now_ms);
}

int64_t suspension_time_ms(const std::vector<std::chrono::milliseconds>& retry_schedule) {
  const int64_t max_hold = limits::kMaxSuspension.count();
  const int64_t hold = retry_schedule.empty() ? max_hold : retry_schedule.front().count() / 2;
  return std::clamp<int64_t>(hold, 0, max_hold);
}

const std::shared_ptr<Destination>& Destinations::get(const std::string& key, const std::string& domain) {
  auto& slot = map_[key];
  if (!slot) slot = std::make_shared<Destination>(key, domain);
  return slot;
}

std::shared_ptr<Destination> Destinations::find(const std::string& key) const {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : it->second;
}

size_t Destinations::forget_idle(int64_t now_ms) {
  return std::erase_if(map_, [now_ms](const auto& kv) { return kv.second->forgettable(now_ms); });
}

}  // namespace volley::delivery
