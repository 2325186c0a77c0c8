// DSNs (and plain-text bounces) that come back to a VERP return path.
#include "platform/bounce_reading.hpp"
#include "platform/delivery_events.hpp"
#include "platform/incoming_reports.hpp"
#include "platform/return_path.hpp"
#include "platform/verp.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

std::string_view local_part(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? address : address.substr(0, at);
}

}  // namespace

const HistoryRecipient* match_recipient(const HistoryMessage& m, std::string_view named, std::string_view also_named) {
  const HistoryRecipient* only = nullptr;
  size_t sent = 0;
  for (const auto& r : m.recipients)
    if (r.state != kStateSuppressed) {
      only = &r;
      ++sent;
    }
  if (sent == 1) return only;
  for (const auto& r : m.recipients) {
    if (r.state == kStateSuppressed) continue;
    if ((!named.empty() && iequals(r.address, named)) || (!also_named.empty() && iequals(r.address, also_named)))
      return &r;
  }
  return nullptr;
}

Result<std::string> take_delivery_report(Platform& p, const IncomingReport& in) {
  auto target = parse_bounce_address(secret_bytes(p), local_part(in.recipient));
  if (!target) return make_error(ErrorCode::Invalid, "bounce address does not verify");
  auto found = p.history().find(target->message_id);
  if (!found) return make_error(ErrorCode::Temporary, concat("message history: ", found.error().message));
  if (!found->has_value())
    return make_error(ErrorCode::Invalid, concat("no history of message ", target->message_id, " (expired?)"));
  const HistoryMessage& m = **found;

  auto reading = read_bounce(m, in.content);
  if (!reading) return reading.error();
  const std::vector<RecipientResult>& results = reading->results;

  ResultOrigin origin;
  origin.message_id = m.id;
  origin.campaign = m.campaign;
  origin.sender_domain = domain_of(m.from);
  origin.via = reading->via;
  origin.dedup_prefix = concat("dsn:", in.queue_id, ":");
  p.delivery_events().record(origin, results);
  std::string summary = concat(origin.via, " bounce for ", m.id, ": ");
  for (size_t i = 0; i < results.size(); ++i)
    summary += concat(i ? ", " : "", results[i].address, " ",
                      results[i].state == queue::RecipientState::Bounced ? "bounced" : "deferred");
  if (reading->unmatched) summary += concat(" (", std::to_string(reading->unmatched), " unmatched)");
  return summary;
}

}  // namespace volley::platform
