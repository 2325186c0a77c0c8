#include "platform/delivery_events.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <ctime>

#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/json_text.hpp"

namespace volley::platform {
namespace {

const char* state_of(queue::RecipientState s) {
  switch (s) {
    case queue::RecipientState::Delivered: return kStateDelivered;
    case queue::RecipientState::Bounced: return kStateBounced;
    case queue::RecipientState::Deferred: return kStateDeferred;
    case queue::RecipientState::Pending: break;
  }
  return kStateQueued;
}

EventType event_of(queue::RecipientState s) {
  switch (s) {
    case queue::RecipientState::Delivered: return EventType::Delivered;
    case queue::RecipientState::Bounced: return EventType::Bounced;
    default: return EventType::Deferred;
  }
}

}  // namespace

BounceVerdict classify_outcome(const BounceClassifier& rules, const delivery::RcptOutcome& o) {
  int code = 0;
  if (o.server_reply && o.reply.size() >= 3 && std::isdigit(static_cast<unsigned char>(o.reply[0])) &&
      std::isdigit(static_cast<unsigned char>(o.reply[1])) && std::isdigit(static_cast<unsigned char>(o.reply[2])))
    code = (o.reply[0] - '0') * 100 + (o.reply[1] - '0') * 10 + (o.reply[2] - '0');
  return rules.classify(code, o.enhanced, o.reply);
}

std::string domain_of(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : to_lower(address.substr(at + 1));
}

DeliveryEvents::DeliveryEvents(EventLog& events, MessageHistory& history, SuppressionList& suppressions,
                               std::function<int64_t()> now)
    : events_(events),
      history_(history),
      suppressions_(suppressions),
      now_(std::move(now)),
      classifier_(std::make_shared<const BounceClassifier>()) {
  if (!now_) now_ = [] { return static_cast<int64_t>(std::time(nullptr)); };
}

void DeliveryEvents::set_classifier(std::shared_ptr<const BounceClassifier> rules) {
  std::lock_guard lock(mu_);
  classifier_ = std::move(rules);
}

void DeliveryEvents::round_finished(const queue::Envelope& env,
                                    const std::vector<std::optional<delivery::RcptOutcome>>& outcomes) {
  ResultOrigin origin;
  origin.message_id = env.id;
  origin.campaign = env.campaign;
  origin.sender_domain = domain_of(env.sender);
  std::vector<RecipientResult> results;
  for (size_t i = 0; i < outcomes.size() && i < env.recipients.size(); ++i)
    if (outcomes[i]) results.push_back(RecipientResult{env.recipients[i].address, env.recipients[i].state, *outcomes[i]});
  record(origin, results);
}

void DeliveryEvents::record(const ResultOrigin& origin, const std::vector<RecipientResult>& results) {
  if (results.empty()) return;  // a round that tried nobody (its destination was full)
  const int64_t now = now_();
  std::shared_ptr<const BounceClassifier> rules;
  {
    std::lock_guard lock(mu_);
    rules = classifier_;
  }
  const bool late_report = !origin.via.empty();
  std::vector<Event> batch;
  std::vector<RecipientUpdate> updates;
  std::vector<Suppression> suppress;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& o = results[i].outcome;
    const auto state = results[i].state;
    const std::string& address = results[i].address;
    const std::string reply = o.describe();
    Event e;
    e.at = now;
    e.type = event_of(state);
    e.message_id = origin.message_id;
    e.recipient = address;
    e.campaign = origin.campaign;
    if (!origin.dedup_prefix.empty()) e.dedup = concat(origin.dedup_prefix, std::to_string(i));
    nlohmann::json detail = {{"reply", reply}, {"status", o.enhanced}, {"relay", o.relay}};
    if (late_report) detail["via"] = origin.via;
    bool hard = false;
    if (state != queue::RecipientState::Delivered) {
      const BounceVerdict verdict = classify_outcome(*rules, o);
      detail["class"] = bounce_class_name(verdict.result);
      hard = state == queue::RecipientState::Bounced && verdict.result == BounceClass::Hard;
      if (verdict.rule && verdict.rule->origin != "default") detail["rule"] = verdict.rule->origin;
    }
    e.detail = json_text(detail);
    batch.push_back(std::move(e));
    // A late "delayed" report changes nothing the history shows.
    if (!late_report || state == queue::RecipientState::Bounced)
      updates.push_back(RecipientUpdate{address, state_of(state), reply, !late_report});
    if (hard && !origin.sender_domain.empty())
      suppress.push_back(Suppression{origin.sender_domain, address, SuppressionReason::HardBounce, now, reply});
  }
  // Suppressions and history before the events: an event reader that sees
  // "bounced" then finds the address suppressed and the history current.
  // All in one transaction: one commit per round, not one per store.
  const std::string& id = origin.message_id;
  auto written = events_.db().atomically([&]() -> Result<void> {
    for (auto& s : suppress) {
      const std::string address = s.address;
      if (auto r = suppressions_.add(std::move(s)); !r)
        log::error("platform.suppress_failed").kv("id", id).kv("rcpt", address).kv("error", r.error().message);
      else
        log::info("platform.suppressed").kv("id", id).kv("rcpt", address).kv("domain", origin.sender_domain).kv("reason", "hard_bounce");
    }
    if (auto r = history_.update(id, updates); !r)
      log::error("platform.history_failed").kv("id", id).kv("error", r.error().message);
    if (auto r = events_.append(batch); !r)
      log::error("platform.events_failed").kv("id", id).kv("error", r.error().message);
    return {};
  });
  if (!written) log::error("platform.round_failed").kv("id", id).kv("error", written.error().message);
}

}  // namespace volley::platform
