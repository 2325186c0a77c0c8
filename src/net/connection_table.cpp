#include "net/connection_table.hpp"

#include <vector>

namespace volley::net {

void ConnectionTable::begin_drain() {
  draining_ = true;
  std::vector<std::shared_ptr<Drainable>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& [raw, weak] : live_)
      if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live) c->request_drain();
}

void ConnectionTable::add(const std::shared_ptr<Drainable>& c) {
  std::lock_guard lock(mu_);
  live_[c.get()] = c;
}

void ConnectionTable::remove(Drainable* c) {
  std::lock_guard lock(mu_);
  live_.erase(c);
}

}  // namespace volley::net
