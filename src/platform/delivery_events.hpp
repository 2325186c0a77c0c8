// The sending platform's record of delivery: for each round of a tracked
// message (delivery/round_observer.hpp), one event per recipient tried
// (delivered / deferred / bounced, with the reply), the message history
// brought up to date, and a hard bounce put on the sender domain's
// suppression list so later messages and campaigns skip the address.
// Everything of one round is written before the queue records the round.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "delivery/round_observer.hpp"
#include "platform/bounce_classifier.hpp"
#include "platform/event_log.hpp"
#include "platform/message_history.hpp"
#include "platform/suppression_list.hpp"

namespace volley::platform {

// The class of a failed or deferred outcome (bounce_classifier.hpp): the
// reply code is the first three digits of a server's reply, 0 for a local
// failure.
BounceVerdict classify_outcome(const BounceClassifier& rules, const delivery::RcptOutcome& o);

class DeliveryEvents final : public delivery::RoundObserver {
 public:
  DeliveryEvents(EventLog& events, MessageHistory& history, SuppressionList& suppressions,
                 std::function<int64_t()> now = nullptr);

  // The rule table bounces are classified with (the defaults until set;
  // replaced whole on reload). Only a bounce classed `hard` suppresses the
  // address; every bounced or deferred event names its class.
  void set_classifier(std::shared_ptr<const BounceClassifier> rules);

  void round_finished(const queue::Envelope& env,
                      const std::vector<std::optional<delivery::RcptOutcome>>& outcomes) override;

 private:
  EventLog& events_;
  MessageHistory& history_;
  SuppressionList& suppressions_;
  std::function<int64_t()> now_;
  std::mutex mu_;  // guards classifier_ (the pointer, not the table: tables are immutable)
  std::shared_ptr<const BounceClassifier> classifier_;
};

// The domain of an address ("" when it has none): the sender domain that
// suppressions are kept per.
std::string domain_of(std::string_view address);

}  // namespace volley::platform
