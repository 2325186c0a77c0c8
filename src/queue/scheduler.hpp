// When each queued message is next due for delivery: queue ids and due
// times only, never envelopes or bodies, so a deep backlog costs about 100
// bytes per message (1M deferred messages: ~100 MB).
//
// A min-heap of (due, id) with lazy deletion: rescheduling or removing an id
// leaves its old heap entry behind, recognised as stale because the id's
// current due time differs; the heap is rebuilt when stale entries pile up.
// Not thread-safe: owned by the delivery engine's thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace volley::queue {

class Scheduler {
 public:
  // Adds `id` (a 20-character queue id; anything else is ignored and false
  // returned) due at `due_ms` (unix milliseconds), or moves it there.
  bool schedule(std::string_view id, int64_t due_ms);
  bool remove(std::string_view id);
  bool contains(std::string_view id) const;
  // Appends up to `max` ids due at or before `now_ms`, earliest first, and
  // forgets them. Returns how many were appended.
  size_t pop_due(int64_t now_ms, size_t max, std::vector<std::string>& out);
  // The earliest due time, if anything is scheduled.
  std::optional<int64_t> next_due();
  // Makes every id for which `pick` returns true due at `now_ms` (admin
  // retry/flush). Returns how many were moved.
  size_t make_due(int64_t now_ms, const std::function<bool(std::string_view)>& pick);
  size_t size() const { return due_.size(); }

 private:
  using Key = std::array<char, 20>;
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept;
  };
  struct Item {
    int64_t due;
    Key key;
  };
  static bool later(const Item& a, const Item& b) { return a.due > b.due; }
  static std::optional<Key> key_of(std::string_view id);
  void push(int64_t due, const Key& k);
  void drop_stale_top();
  void compact_if_needed();

  std::unordered_map<Key, int64_t, KeyHash> due_;
  std::vector<Item> heap_;  // std::push_heap/pop_heap with `later`
};

}  // namespace volley::queue
