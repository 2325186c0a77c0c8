// parse_arf (reports.hpp): RFC 5965 feedback reports.
#include "platform/limits.hpp"
#include "platform/report_parts.hpp"
#include "util/strings.hpp"

namespace volley::platform {

Result<FeedbackReport> parse_arf(std::string_view bytes) {
  auto parts = detail::open_report(bytes, "feedback-report", {"message/feedback-report"});
  if (!parts) return parts.error();
  const std::vector<FieldBlock> blocks = parse_field_blocks(parts->machine_readable, 1);
  if (blocks.empty()) return make_error(ErrorCode::Invalid, "feedback report has no fields");
  const FieldBlock& f = blocks.front();
  FeedbackReport r;
  r.feedback_type = to_lower(detail::field(f, "feedback-type"));
  if (r.feedback_type.empty()) return make_error(ErrorCode::Invalid, "feedback report without Feedback-Type");
  r.user_agent = detail::field(f, "user-agent");
  r.version = detail::field(f, "version");
  r.original_mail_from = detail::strip_address(detail::field(f, "original-mail-from"));
  r.original_rcpt_to = detail::strip_address(detail::field(f, "original-rcpt-to"));
  r.arrival_date = detail::field(f, "arrival-date");
  r.source_ip = detail::field(f, "source-ip");
  r.reported_domain = detail::field(f, "reported-domain");
  r.original = detail::read_original(parts->original);
  r.verp_local_part = detail::verp_local_part_of(r.original_mail_from);
  if (r.verp_local_part.empty()) r.verp_local_part = r.original.verp_local_part;
  return r;
}

}  // namespace volley::platform
