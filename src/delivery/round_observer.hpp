// Who else learns how a delivery round of a tracked message ended (the
// sending platform: events, message history, bounce suppression). Told by
// RoundRecorder after the outcomes are applied to the envelope and BEFORE
// the queue records them, on the thread that finished the round: what the
// observer writes synchronously is durable first, so a crash in between
// repeats the round (and its record) rather than losing the record.
#pragma once

#include <optional>
#include <vector>

#include "delivery/outcome.hpp"
#include "queue/envelope.hpp"

namespace volley::delivery {

class RoundObserver {
 public:
  virtual ~RoundObserver() = default;
  // `env` has the recipients' states after this round (a deferral that
  // expired is Bounced); outcomes[i] is recipient i's result this round,
  // nullopt when it was not tried. Must not throw; errors are its own to log.
  virtual void round_finished(const queue::Envelope& env, const std::vector<std::optional<RcptOutcome>>& outcomes) = 0;
};

}  // namespace volley::delivery
