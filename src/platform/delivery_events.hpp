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

// One recipient's result to record: its state after the round (or after a
// report that came back) and the outcome that made it.
struct RecipientResult {
  std::string address;
  queue::RecipientState state = queue::RecipientState::Deferred;
  delivery::RcptOutcome outcome;
};

// What results belong to and where they came from.
struct ResultOrigin {
  std::string message_id;
  std::string campaign;
  std::string sender_domain;  // whose suppression list a hard bounce goes on
  std::string via;            // "" = a delivery round; "dsn" = a delivery report that came back later
  // "" or a prefix made unique per result (prefix + its position): events
  // with a key are stored once, so a report delivered twice records once.
  std::string dedup_prefix;
};

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

  // The one path results take, from a round or from a DSN: failures and
  // deferrals classified by the rule table, the hard bounces suppressed for
  // the sender domain, the history brought up to date (a report that came
  // back updates a bounce only, without counting an attempt), then one
  // event per result. Errors are logged.
  void record(const ResultOrigin& origin, const std::vector<RecipientResult>& results);

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
