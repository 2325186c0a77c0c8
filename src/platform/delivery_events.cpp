#include "platform/delivery_events.hpp"

#include <nlohmann/json.hpp>

#include <ctime>

#include "util/log.hpp"
#include "util/strings.hpp"

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

bool bad_mailbox_status(const delivery::RcptOutcome& o) {
  return o.status == delivery::Status::Bounced && o.enhanced.starts_with("5.1.");
}

std::string domain_of(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : to_lower(address.substr(at + 1));
}

DeliveryEvents::DeliveryEvents(EventLog& events, MessageHistory& history, SuppressionList& suppressions,
                               HardBounceTest hard, std::function<int64_t()> now)
    : events_(events), history_(history), suppressions_(suppressions), hard_(std::move(hard)), now_(std::move(now)) {
  if (!now_) now_ = [] { return static_cast<int64_t>(std::time(nullptr)); };
}

void DeliveryEvents::round_finished(const queue::Envelope& env,
                                    const std::vector<std::optional<delivery::RcptOutcome>>& outcomes) {
  const int64_t now = now_();
  std::vector<Event> batch;
  std::vector<RecipientUpdate> updates;
  std::vector<Suppression> suppress;
  const std::string sender_domain = domain_of(env.sender);
  for (size_t i = 0; i < outcomes.size() && i < env.recipients.size(); ++i) {
    if (!outcomes[i]) continue;
    const auto& o = *outcomes[i];
    const auto& r = env.recipients[i];
    const std::string reply = o.describe();
    Event e;
    e.at = now;
    e.type = event_of(r.state);
    e.message_id = env.id;
    e.recipient = r.address;
    e.campaign = env.campaign;
    nlohmann::json detail = {{"reply", reply}, {"status", o.enhanced}, {"relay", o.relay}};
    const bool hard = r.state == queue::RecipientState::Bounced && hard_ && hard_(o);
    if (r.state == queue::RecipientState::Bounced) detail["hard"] = hard;
    e.detail = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    batch.push_back(std::move(e));
    updates.push_back(RecipientUpdate{r.address, state_of(r.state), reply});
    if (hard && !sender_domain.empty())
      suppress.push_back(Suppression{sender_domain, r.address, SuppressionReason::HardBounce, now, reply});
  }
  // Suppressions and history before the events: an event reader that sees
  // "bounced" then finds the address suppressed and the history current.
  for (auto& s : suppress) {
    const std::string address = s.address;
    if (auto r = suppressions_.add(std::move(s)); !r)
      log::error("platform.suppress_failed").kv("id", env.id).kv("rcpt", address).kv("error", r.error().message);
    else
      log::info("platform.suppressed").kv("id", env.id).kv("rcpt", address).kv("domain", sender_domain).kv("reason", "hard_bounce");
  }
  if (auto r = history_.update(env.id, updates); !r)
    log::error("platform.history_failed").kv("id", env.id).kv("error", r.error().message);
  if (auto r = events_.append(batch); !r)
    log::error("platform.events_failed").kv("id", env.id).kv("error", r.error().message);
}

}  // namespace volley::platform
