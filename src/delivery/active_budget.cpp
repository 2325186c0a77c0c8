#include "delivery/active_budget.hpp"

namespace volley::delivery {

bool ActiveBudget::fits(uint64_t bytes) const {
  if (messages_ == 0) return true;  // alone: one message larger than the cap still goes
  return messages_ < max_messages_ && bytes <= max_bytes_ && bytes_ <= max_bytes_ - bytes;
}

void ActiveBudget::charge(uint64_t bytes) {
  ++messages_;
  bytes_ += bytes;
}

void ActiveBudget::refund(uint64_t bytes) {
  if (messages_ > 0) --messages_;
  bytes_ = bytes <= bytes_ ? bytes_ - bytes : 0;
}

std::optional<ActiveBudget::Parked> ActiveBudget::unpark_if_fits() {
  if (!parked_ || !fits(parked_->bytes)) return std::nullopt;
  auto p = std::move(parked_);
  parked_.reset();
  return p;
}

}  // namespace volley::delivery
