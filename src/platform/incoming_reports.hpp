// What the platform does with a report that came back by mail
// (report_target.hpp hands each one here by the address it came to):
//  - take_delivery_report: a DSN (or a plain-text bounce) to a VERP return
//    path -> the message's history, a bounced / deferred event, a hard
//    bounce suppressed (the same path as a delivery round's results:
//    DeliveryEvents::record);
//  - take_feedback_report: an ARF complaint to api.complaints_address ->
//    suppression (complaint) and a complained event;
//  - take_mailto_unsubscribe: mail to unsubscribe@D carrying our token ->
//    record_unsubscribe (unsubscribe_action.hpp).
// Nothing in a report is trusted: a VERP MAC or an unsubscribe token must
// verify before anything is changed.
//
// Each answers what it did (for the log), ErrorCode::Invalid when the report
// cannot be used (the caller logs and drops it: a report is never bounced),
// or a temporary error when the platform's storage failed (the caller has
// the queue try again later; every change is idempotent, keyed on the
// incoming message's queue id).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "platform/platform.hpp"
#include "util/result.hpp"

namespace volley::platform {

struct IncomingReport {
  std::string queue_id;      // the incoming message's queue id: what dedup keys are made of
  std::string recipient;     // the report address it was sent to
  std::string_view content;  // the whole message (at most kMaxReportBytes)
  int64_t now = 0;           // unix seconds
};

Result<std::string> take_delivery_report(Platform& p, const IncomingReport& in);
Result<std::string> take_feedback_report(Platform& p, const IncomingReport& in);
Result<std::string> take_mailto_unsubscribe(Platform& p, const IncomingReport& in);

// Shared by the three: the history's recipient a report names. A message
// with one recipient that was sent to (not suppressed) is that recipient
// whatever the report says (forwarding rewrites addresses); otherwise the
// recipient whose address equals `named` or `also_named` (any case).
// Null when none does.
const HistoryRecipient* match_recipient(const HistoryMessage& m, std::string_view named, std::string_view also_named);

}  // namespace volley::platform
