// The units the delivery engine moves around. An ActiveMessage is a message
// being delivered this round (its body in memory, charged to the
// ActiveBudget); a Job is the part of it going one way: the recipients for
// one destination, or the local ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delivery/outcome.hpp"
#include "queue/envelope.hpp"

namespace volley::delivery {

struct ActiveMessage {
  std::shared_ptr<const queue::Message> msg;  // content (+ envelope as loaded)
  queue::Envelope env;                        // working copy: the round's results go here
  std::vector<std::optional<RcptOutcome>> outcomes;  // per recipient; nullopt = not tried this round
  size_t pending_jobs = 0;  // the round ends when this drops to zero
  uint64_t charged = 0;     // bytes charged to the ActiveBudget for this message
  std::string blocked_on;   // the first destination that was full this round: parked there when the round ends
};

struct Job {
  std::shared_ptr<ActiveMessage> active;
  std::vector<size_t> rcpts;  // indexes into active->env.recipients
  // Times a reused connection died under this job after the MAIL went out
  // (defect 1e): retried unrecorded up to limits::kMaxResendsPerJob.
  uint32_t resends = 0;
};

}  // namespace volley::delivery
