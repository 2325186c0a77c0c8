// parse_dsn (reports.hpp): RFC 3464 delivery status notifications
// (message/global-delivery-status, RFC 6533, read the same way).
#include "platform/limits.hpp"
#include "platform/report_parts.hpp"
#include "util/strings.hpp"

namespace volley::platform {

Result<DeliveryReport> parse_dsn(std::string_view bytes) {
  auto parts = detail::open_report(bytes, "delivery-status",
                                   {"message/delivery-status", "message/global-delivery-status"});
  if (!parts) return parts.error();
  // One per-message block, then one block per recipient.
  const std::vector<FieldBlock> blocks = parse_field_blocks(parts->machine_readable, kMaxDsnRecipients + 1);
  if (blocks.size() < 2) return make_error(ErrorCode::Invalid, "delivery status without recipients");
  DeliveryReport r;
  r.reporting_mta = detail::strip_address(detail::field(blocks[0], "reporting-mta"));
  r.original_envelope_id = detail::field(blocks[0], "original-envelope-id");
  for (size_t i = 1; i < blocks.size(); ++i) {
    const FieldBlock& b = blocks[i];
    DsnRecipientStatus s;
    s.final_recipient = detail::strip_address(detail::field(b, "final-recipient"));
    s.original_recipient = detail::strip_address(detail::field(b, "original-recipient"));
    s.action = to_lower(detail::field(b, "action"));
    s.status = detail::field(b, "status");
    s.diagnostic_code = detail::strip_address(detail::field(b, "diagnostic-code"));
    s.remote_mta = detail::strip_address(detail::field(b, "remote-mta"));
    // Final-Recipient, Action and Status are required (RFC 3464 2.3).
    if (s.final_recipient.empty() || s.action.empty() || s.status.empty()) continue;
    r.recipients.push_back(std::move(s));
  }
  if (r.recipients.empty()) return make_error(ErrorCode::Invalid, "delivery status without a valid recipient block");
  r.original = detail::read_original(parts->original);
  return r;
}

}  // namespace volley::platform
