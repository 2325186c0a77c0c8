// Reports that come back by mail, parsed with GMime, reduced to what can be
// matched to our message and recipient:
//  - parse_arf: RFC 5965 feedback reports (complaints: multipart/report;
//    report-type=feedback-report), the fields of the message/feedback-report
//    part and the original message's headers from the third part;
//  - parse_dsn: RFC 3464 delivery status notifications (multipart/report;
//    report-type=delivery-status), per-recipient blocks and the returned
//    message's headers.
// Matching back: the original's Return-Path (or ARF Original-Mail-From) is
// our VERP address (verp.hpp: parse_bounce_address on `verp_local_part`),
// its List-Unsubscribe carries our token (`unsubscribe_token`,
// unsubscribe_token.hpp), its Message-ID is ours. Nothing here is trusted:
// the caller verifies the VERP MAC or the token before acting.
//
// Bounded: input size (kMaxReportBytes), containers counted before GMime's
// recursive parser runs (kMaxReportContainers), parts walked
// (kMaxReportParts), recipients (kMaxDsnRecipients), field lengths
// (kMaxReportFieldBytes).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace volley::platform {

struct OriginalHeaders {
  std::string message_id;         // without angle brackets
  std::string return_path;        // addr-spec without angle brackets
  std::string list_unsubscribe;   // the header value as found
  std::string unsubscribe_token;  // TOKEN from an "https://HOST/unsubscribe/TOKEN" in List-Unsubscribe, or ""
  std::string verp_local_part;    // local part of return_path when it starts with "bounces+", or ""
  std::string from, to, subject;  // decoded, for display
  std::vector<std::pair<std::string, std::string>> volley_headers;  // X-Volley-* as found
};

struct FeedbackReport {
  std::string feedback_type;       // "abuse", "fraud", "not-spam", ... (lower case)
  std::string user_agent, version;
  std::string original_mail_from;  // addr-spec, without angle brackets
  std::string original_rcpt_to;    // the first Original-Rcpt-To, addr-spec
  std::string arrival_date, source_ip, reported_domain;
  OriginalHeaders original;        // from the message/rfc822 or text/rfc822-headers part
  // Local part of original_mail_from when it is a VERP address ("bounces+..."),
  // else original.verp_local_part.
  std::string verp_local_part;
};

struct DsnRecipientStatus {
  std::string final_recipient;     // addr-spec (the "rfc822;" type removed)
  std::string original_recipient;  // likewise, "" when absent
  std::string action;              // "failed", "delayed", "delivered", "relayed", "expanded" (lower case)
  std::string status;              // "5.1.1"
  std::string diagnostic_code;     // the text after "smtp;" (the remote reply), "" when absent
  std::string remote_mta;
};

struct DeliveryReport {
  std::string reporting_mta, original_envelope_id;
  std::vector<DsnRecipientStatus> recipients;
  OriginalHeaders original;  // empty when the report returned nothing
};

// ErrorCode::Invalid when `bytes` is not such a report (or over a bound).
Result<FeedbackReport> parse_arf(std::string_view bytes);
Result<DeliveryReport> parse_dsn(std::string_view bytes);

// A field block ("Name: value" lines, folded lines joined) split at blank
// lines: RFC 3464 / RFC 5965 machine-readable parts. Names lower-cased,
// values trimmed and capped at kMaxReportFieldBytes; at most `max_blocks`.
using FieldBlock = std::vector<std::pair<std::string, std::string>>;
std::vector<FieldBlock> parse_field_blocks(std::string_view text, size_t max_blocks);

}  // namespace volley::platform
