// What a report that came back to a message's VERP return path says about
// the message's recipients: the DSN's failed / delayed blocks matched to
// them, or, for a plain-text bounce of a one-recipient message, the
// permanent SMTP refusal its text states. Pure (the message's history and
// the report's bytes in), so it is unit-tested and fuzzed
// (fuzz/fuzz_incoming_report.cpp) apart from take_delivery_report
// (incoming_dsn.cpp), which verifies the address, looks the history up and
// records the results.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "platform/delivery_events.hpp"
#include "platform/message_history.hpp"
#include "util/result.hpp"

namespace volley::platform {

// How much of a plain-text bounce's body is searched for the SMTP reply
// that explains it: the reason is at the top of every bounce we have seen.
inline constexpr size_t kPlainBounceScanBytes = 4096;
// A reply line kept from it: one SMTP reply line's worth.
inline constexpr size_t kPlainBounceReplyBytes = 512;

struct BounceReading {
  std::vector<RecipientResult> results;  // recipients of the message (not suppressed), Bounced or Deferred
  size_t unmatched = 0;                  // failed / delayed DSN blocks that named none of them
  std::string via;                       // "dsn" or "text"
};

// ErrorCode::Invalid (with why, for the log) when the report changes nothing.
Result<BounceReading> read_bounce(const HistoryMessage& m, std::string_view content);

// The first line of a plain-text bounce's body that holds a permanent SMTP
// refusal with an enhanced status ("550 5.1.1 ..."), trimmed, at most
// kPlainBounceReplyBytes; "" when none. Only such a line makes a non-DSN a
// bounce: auto-replies (RFC 3834 sends them to the return path too) must
// not mark a delivered message bounced.
std::string permanent_reply_line(std::string_view content);

}  // namespace volley::platform
