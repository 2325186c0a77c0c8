// The sending platform's record of delivery: for each round of a tracked
// message (delivery/round_observer.hpp), one event per recipient tried
// (delivered / deferred / bounced, with the reply), the message history
// brought up to date, and a hard bounce put on the sender domain's
// suppression list so later messages and campaigns skip the address.
// Everything of one round is written before the queue records the round.
#pragma once

#include <functional>

#include "delivery/round_observer.hpp"
#include "platform/event_log.hpp"
#include "platform/message_history.hpp"
#include "platform/suppression_list.hpp"

namespace volley::platform {

// Whether a bounce means the address itself is bad (suppress it) rather
// than this message or this moment (policy, spam, a full mailbox).
using HardBounceTest = std::function<bool(const delivery::RcptOutcome&)>;

// The default test until the rule table classifies replies: RFC 3463's
// "bad destination mailbox address" family, 5.1.x.
bool bad_mailbox_status(const delivery::RcptOutcome& o);

class DeliveryEvents final : public delivery::RoundObserver {
 public:
  DeliveryEvents(EventLog& events, MessageHistory& history, SuppressionList& suppressions,
                 HardBounceTest hard = bad_mailbox_status, std::function<int64_t()> now = nullptr);

  void round_finished(const queue::Envelope& env,
                      const std::vector<std::optional<delivery::RcptOutcome>>& outcomes) override;

 private:
  EventLog& events_;
  MessageHistory& history_;
  SuppressionList& suppressions_;
  HardBounceTest hard_;
  std::function<int64_t()> now_;
};

// The domain of an address ("" when it has none): the sender domain that
// suppressions are kept per.
std::string domain_of(std::string_view address);

}  // namespace volley::platform
