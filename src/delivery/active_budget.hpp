// How many messages, and how many body bytes, the delivery engine holds in
// memory at once (delivery.max_active_messages, delivery.max_active_bytes).
// A body is charged before it is read from disk (its size is known from the
// spool's index), so the cap holds for messages loaded by the scheduler as
// well as for fresh ones that arrive with their body in memory.
//
// No starvation: a body larger than the byte cap is admitted when nothing
// else is held, and once such a message is waiting (park()) nothing else is
// admitted until it is, so the engine drains and the large message goes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace volley::delivery {

class ActiveBudget {
 public:
  ActiveBudget(size_t max_messages, uint64_t max_bytes) : max_messages_(max_messages), max_bytes_(max_bytes) {}
  void set_limits(size_t max_messages, uint64_t max_bytes) {
    max_messages_ = max_messages;
    max_bytes_ = max_bytes;
  }

  // Room for one more message of unknown size (before looking at the next
  // due id): under both caps and nobody parked.
  bool has_room() const { return !parked_ && messages_ < max_messages_ && bytes_ < max_bytes_; }
  // Whether a body of `bytes` may be held now: within both caps, or alone.
  bool fits(uint64_t bytes) const;
  void charge(uint64_t bytes);
  void refund(uint64_t bytes);

  // A message that did not fit waits here, ahead of everything else.
  struct Parked {
    std::string id;
    uint64_t bytes = 0;
  };
  void park(std::string id, uint64_t bytes) { parked_ = Parked{std::move(id), bytes}; }
  const std::optional<Parked>& parked() const { return parked_; }
  // The parked message if it fits now (it is no longer parked then).
  std::optional<Parked> unpark_if_fits();
  void forget(const std::string& id) {
    if (parked_ && parked_->id == id) parked_.reset();
  }

  size_t messages() const { return messages_; }
  uint64_t bytes() const { return bytes_; }

 private:
  size_t max_messages_;
  uint64_t max_bytes_;
  size_t messages_ = 0;
  uint64_t bytes_ = 0;
  std::optional<Parked> parked_;
};

}  // namespace volley::delivery
