// Applies the outcomes of one delivery round to a message's envelope: each
// recipient's new state, the attempt history, expiry (queue.max_age), the
// next retry time (queue.retry_schedule), and which recipients asked for a
// DSN. Pure: the engine does the I/O (update record, DSN message, logs).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "delivery/limits.hpp"
#include "delivery/outcome.hpp"
#include "queue/envelope.hpp"

namespace volley::delivery {

struct RoundPolicy {
  std::vector<std::chrono::milliseconds> retry_schedule;  // delays after the 1st, 2nd, ... deferral; the last repeats
  std::chrono::milliseconds max_age{0};                   // a recipient still deferred after this is bounced
  size_t max_attempts_kept = limits::kMaxAttemptsKept;    // history bound; the oldest entries go first
};

struct RoundResult {
  bool finished = false;          // every recipient delivered or bounced: remove the message
  bool changed = false;           // an update record is needed
  int64_t next_attempt_ms = 0;    // unix ms of the next try when not finished
  bool only_untried = false;      // not finished, yet nothing deferred: recipients were left untried (full destination)
  std::vector<size_t> failed;     // recipients bounced this round whose sender wants a failure DSN
  std::vector<size_t> succeeded;  // recipients delivered this round with NOTIFY=SUCCESS
};

// `outcomes[i]` is recipient i's result this round (nullopt: not tried).
// Deferred recipients past max_age are turned into bounces in place
// (status 4.4.7 unless the last reply had a 4.x.x of its own), so the caller
// logs and reports what was decided.
RoundResult apply_round(queue::Envelope& env, std::vector<std::optional<RcptOutcome>>& outcomes, int64_t now_ms,
                        const RoundPolicy& policy);

// The delay before the next try after `deferrals` deferred rounds (>= 1).
std::chrono::milliseconds retry_delay(const std::vector<std::chrono::milliseconds>& schedule, uint32_t deferrals);

}  // namespace volley::delivery
