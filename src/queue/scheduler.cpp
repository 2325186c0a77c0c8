#include "queue/scheduler.hpp"

#include <algorithm>
#include <cstring>

namespace volley::queue {

size_t Scheduler::KeyHash::operator()(const Key& k) const noexcept {
  // FNV-1a: ids are random enough in their tail; this only spreads buckets.
  uint64_t h = 1469598103934665603ull;
  for (char c : k) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return static_cast<size_t>(h);
}

std::optional<Scheduler::Key> Scheduler::key_of(std::string_view id) {
  Key k;
  if (id.size() != k.size()) return std::nullopt;
  std::memcpy(k.data(), id.data(), k.size());
  return k;
}

void Scheduler::push(int64_t due, const Key& k) {
  heap_.push_back(Item{due, k});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

bool Scheduler::schedule(std::string_view id, int64_t due_ms) {
  auto k = key_of(id);
  if (!k) return false;
  auto [it, inserted] = due_.try_emplace(*k, due_ms);
  if (!inserted) {
    if (it->second == due_ms) return true;
    it->second = due_ms;
  }
  push(due_ms, *k);
  compact_if_needed();
  return true;
}

bool Scheduler::remove(std::string_view id) {
  auto k = key_of(id);
  if (!k) return false;
  bool removed = due_.erase(*k) > 0;
  compact_if_needed();
  return removed;
}

bool Scheduler::contains(std::string_view id) const {
  auto k = key_of(id);
  return k && due_.count(*k) > 0;
}

void Scheduler::drop_stale_top() {
  while (!heap_.empty()) {
    const Item& top = heap_.front();
    auto it = due_.find(top.key);
    if (it != due_.end() && it->second == top.due) return;
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
}

std::optional<int64_t> Scheduler::next_due() {
  drop_stale_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().due;
}

size_t Scheduler::pop_due(int64_t now_ms, size_t max, std::vector<std::string>& out) {
  size_t n = 0;
  while (n < max) {
    drop_stale_top();
    if (heap_.empty() || heap_.front().due > now_ms) break;
    const Key k = heap_.front().key;
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
    due_.erase(k);
    out.emplace_back(k.data(), k.size());
    ++n;
  }
  return n;
}

size_t Scheduler::make_due(int64_t now_ms, const std::function<bool(std::string_view)>& pick) {
  size_t moved = 0;
  for (auto& [k, due] : due_) {
    if (due <= now_ms || !pick(std::string_view(k.data(), k.size()))) continue;
    due = now_ms;
    ++moved;
  }
  if (moved) {
    // Rebuild rather than push one entry per id: admin commands may move
    // the whole queue at once.
    heap_.clear();
    heap_.reserve(due_.size());
    for (const auto& [k, due] : due_) heap_.push_back(Item{due, k});
    std::make_heap(heap_.begin(), heap_.end(), later);
  }
  return moved;
}

void Scheduler::compact_if_needed() {
  // Stale entries are harmless but cost memory; rebuild when they outnumber
  // the live ones.
  if (heap_.size() < 1024 || heap_.size() < 2 * due_.size()) return;
  heap_.clear();
  for (const auto& [k, due] : due_) heap_.push_back(Item{due, k});
  std::make_heap(heap_.begin(), heap_.end(), later);
}

}  // namespace volley::queue
