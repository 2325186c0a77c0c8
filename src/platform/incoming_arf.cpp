// ARF complaints (RFC 5965) that come to api.complaints_address.
#include <nlohmann/json.hpp>

#include <optional>

#include "platform/delivery_events.hpp"
#include "platform/incoming_reports.hpp"
#include "platform/reports.hpp"
#include "platform/return_path.hpp"
#include "platform/unsubscribe_token.hpp"
#include "platform/verp.hpp"
#include "util/strings.hpp"
#include "util/json_text.hpp"

namespace volley::platform {
namespace {

// Who complained about what, once verified.
struct Complaint {
  std::string message_id;  // "" when only the token named the recipient
  std::string recipient;
  std::string campaign;
  std::string sender_domain;
  std::string matched_by;  // "verp" or "token"
};

// Through our VERP return path: the MAC, then the history, then the
// recipient (the report's Original-Rcpt-To, or the message's only one).
Result<std::optional<Complaint>> by_return_path(Platform& p, const FeedbackReport& arf) {
  if (arf.verp_local_part.empty()) return std::optional<Complaint>();
  auto target = parse_bounce_address(secret_bytes(p), arf.verp_local_part);
  if (!target) return std::optional<Complaint>();
  auto found = p.history().find(target->message_id);
  if (!found) return make_error(ErrorCode::Temporary, concat("message history: ", found.error().message));
  if (!found->has_value()) return std::optional<Complaint>();
  const HistoryMessage& m = **found;
  const HistoryRecipient* who = match_recipient(m, arf.original_rcpt_to, "");
  if (!who) return std::optional<Complaint>();
  return std::optional<Complaint>(Complaint{m.id, who->address, m.campaign, domain_of(m.from), "verp"});
}

// Through the unsubscribe token in the original's List-Unsubscribe.
std::optional<Complaint> by_token(Platform& p, const FeedbackReport& arf) {
  if (arf.original.unsubscribe_token.empty()) return std::nullopt;
  auto fields = open_unsubscribe_token(secret_bytes(p), arf.original.unsubscribe_token);
  if (!fields) return std::nullopt;
  return Complaint{"", fields->address, fields->campaign_id, to_lower(fields->sender_domain), "token"};
}

}  // namespace

Result<std::string> take_feedback_report(Platform& p, const IncomingReport& in) {
  auto arf = parse_arf(in.content);
  if (!arf) return make_error(ErrorCode::Invalid, concat("not an ARF report: ", arf.error().message));
  // RFC 6650: "not-spam" says the opposite of a complaint.
  if (arf->feedback_type == "not-spam") return make_error(ErrorCode::Invalid, "feedback type not-spam");
  auto verp = by_return_path(p, *arf);
  if (!verp) return verp.error();
  std::optional<Complaint> c = std::move(*verp);
  if (!c) c = by_token(p, *arf);
  if (!c) return make_error(ErrorCode::Invalid, "names no message or recipient of ours that verifies");
  if (c->sender_domain.empty()) return make_error(ErrorCode::Invalid, "no sender domain");

  const std::string type = arf->feedback_type.empty() ? std::string("abuse") : arf->feedback_type;
  nlohmann::json detail = {{"via", "arf"}, {"feedback_type", type}, {"matched_by", c->matched_by}};
  if (!arf->user_agent.empty()) detail["user_agent"] = arf->user_agent;
  if (!arf->source_ip.empty()) detail["source_ip"] = arf->source_ip;
  if (!arf->arrival_date.empty()) detail["arrival_date"] = arf->arrival_date;
  const std::string detail_text = json_text(detail);

  // Suppression first: an event reader that sees "complained" finds the
  // address suppressed.
  if (auto r = p.suppressions().add(Suppression{c->sender_domain, c->recipient, SuppressionReason::Complaint, in.now,
                                                concat("complaint (", type, ")")});
      !r)
    return make_error(ErrorCode::Temporary, concat("suppression: ", r.error().message));
  std::vector<Event> events(1);
  Event& e = events[0];
  e.at = in.now;
  e.type = EventType::Complained;
  e.message_id = c->message_id;
  e.recipient = c->recipient;
  e.campaign = c->campaign;
  e.detail = detail_text;
  e.dedup = concat("arf:", in.queue_id);
  if (auto r = p.events().append(events); !r) return make_error(ErrorCode::Temporary, concat("events: ", r.error().message));
  return concat("complaint (", type, ") about ", c->message_id.empty() ? std::string("-") : c->message_id, " from ",
                c->recipient, " for ", c->sender_domain, ", matched by ", c->matched_by);
}

}  // namespace volley::platform
