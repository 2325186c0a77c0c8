#include "platform/unsubscribe_action.hpp"

#include <nlohmann/json.hpp>

#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/json_text.hpp"

namespace volley::platform {

Result<void> record_unsubscribe(Platform& p, const UnsubscribeFields& who, int64_t now, std::string_view via) {
  Suppression s;
  s.domain = who.sender_domain;
  s.address = who.address;
  s.reason = SuppressionReason::Unsubscribe;
  s.created_at = now;
  s.detail = who.campaign_id.empty() ? concat("unsubscribed (", via, ")")
                                     : concat("unsubscribed from campaign ", who.campaign_id, " (", via, ")");
  if (auto r = p.suppressions().add(std::move(s)); !r) return r;

  Event e;
  e.at = now;
  e.type = EventType::Unsubscribed;
  e.recipient = to_lower(who.address);
  e.campaign = who.campaign_id;
  e.detail = json_text(nlohmann::json{{"sender_domain", to_lower(who.sender_domain)}, {"via", via}});
  e.dedup = concat("unsubscribe:", to_lower(who.sender_domain), ":", e.recipient, ":", who.campaign_id);
  std::vector<Event> events{std::move(e)};
  if (auto r = p.events().append(events); !r) return r;
  log::info("platform.unsubscribed")
      .kv("rcpt", who.address)
      .kv("domain", who.sender_domain)
      .kv("campaign", who.campaign_id)
      .kv("via", via);
  return {};
}

}  // namespace volley::platform
