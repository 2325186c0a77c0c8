#include "delivery/waiting_room.hpp"

namespace volley::delivery {

void WaitingRoom::park(const std::string& id, const std::string& key) {
  auto [it, inserted] = parked_.try_emplace(id, key);
  if (!inserted) {
    if (it->second == key) return;  // already in that queue
    it->second = key;               // the old queue's entry is now stale
  }
  queues_[key].push_back(id);
}

const std::string* WaitingRoom::parked_on(const std::string& id) const {
  auto it = parked_.find(id);
  return it == parked_.end() ? nullptr : &it->second;
}

void WaitingRoom::unpark(const std::string& id) { parked_.erase(id); }

std::vector<std::string> WaitingRoom::release(const std::string& key, size_t n,
                                              const std::function<bool(const std::string&)>& live) {
  std::vector<std::string> out;
  auto q = queues_.find(key);
  if (q == queues_.end()) return out;
  auto& ids = q->second;
  while (out.size() < n && !ids.empty()) {
    std::string id = std::move(ids.front());
    ids.pop_front();
    auto p = parked_.find(id);
    if (p == parked_.end() || p->second != key) continue;  // stale entry
    parked_.erase(p);
    if (live(id)) out.push_back(std::move(id));
  }
  if (ids.empty()) queues_.erase(q);
  return out;
}

std::vector<std::string> WaitingRoom::keys() const {
  std::vector<std::string> out;
  out.reserve(queues_.size());
  for (const auto& [key, ids] : queues_) out.push_back(key);
  return out;
}

}  // namespace volley::delivery
