// The end of a message's delivery round, as Postfix's qmgr does it after its
// delivery agents report: the outcomes are applied to the envelope
// (apply_round: states, attempt history, expiry, next retry), logged one
// line per recipient, reported to the sender as DSNs (bounced recipients,
// and delivered ones that asked with NOTIFY=SUCCESS; one DSN message each,
// committed to the queue like any other mail and handed to `submit`), and
// the queue is told: the message is erased when every recipient is final,
// otherwise its envelope is updated and it is due again at the returned time.
//
// Time comes from a Clock, so expiry and retry times are unit-tested on
// made-up time against a real queue in a temporary directory.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "delivery/job.hpp"
#include "delivery/round.hpp"
#include "delivery/round_observer.hpp"
#include "queue/log_spool.hpp"
#include "util/clock.hpp"

namespace volley::delivery {

class RoundRecorder {
 public:
  // Receives each DSN once it is durably queued (on the spool's thread).
  using Submit = std::function<void(std::shared_ptr<const queue::Message>)>;

  RoundRecorder(queue::LogSpool& spool, const Clock& clock, Submit submit)
      : spool_(spool), clock_(clock), submit_(std::move(submit)) {}

  // Records the finished round of `a` (a.outcomes filled by the jobs; a.env
  // is updated in place). `reporting_mta` names us in DSNs.
  RoundResult record(ActiveMessage& a, const RoundPolicy& policy, const std::string& reporting_mta);

  // Told of each round of a tracked message (round_observer.hpp); null =
  // nobody. Set before delivery starts; must outlive the recorder.
  void set_observer(RoundObserver* observer) { observer_ = observer; }

 private:
  void log_outcomes(const ActiveMessage& a, uint32_t attempt, int64_t now_ms) const;
  void queue_dsn(const ActiveMessage& a, const std::vector<size_t>& rcpts, bool success,
                 const std::string& reporting_mta);

  queue::LogSpool& spool_;
  const Clock& clock_;
  Submit submit_;
  RoundObserver* observer_ = nullptr;
};

}  // namespace volley::delivery
