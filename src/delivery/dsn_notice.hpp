// Turns a finished round's outcomes into the DSN message queued from <>:
// one code path for every route (MX, smarthost, address literal, local), so
// the report says the same thing whichever way the mail went (RFC 3464
// 2.3.4-2.3.6: Status, Remote-MTA, Diagnostic-Code). Pure: the caller
// commits the message to the spool and schedules it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/dsn.hpp"
#include "delivery/outcome.hpp"
#include "queue/envelope.hpp"

namespace volley::delivery {

// One recipient's part of the report. `success`: a delivered/relayed notice
// (NOTIFY=SUCCESS), else a failure. The status is the outcome's own
// (a 4.x.x of an expired recipient stays, as Postfix reports it); the
// Diagnostic-Code only carries a reply a server gave, verbatim; local
// reasons (DNS, TLS, expiry) go in the human-readable part.
DsnRecipient dsn_recipient_for(const queue::Recipient& rcpt, const RcptOutcome& outcome, bool success,
                               int64_t now_s);

struct DsnNotice {
  std::string reporting_mta;  // our hostname
  std::string dsn_id;         // queue id of the new message
  int64_t now_s = 0;
};

// The complete DSN message (envelope from <> to the original sender) for
// the recipients `rcpts` of `env`, whose outcomes are outcomes[i].
std::shared_ptr<queue::Message> make_dsn_message(const queue::Envelope& env, std::string_view content,
                                                 const std::vector<std::optional<RcptOutcome>>& outcomes,
                                                 const std::vector<size_t>& rcpts, bool success,
                                                 const DsnNotice& notice);

}  // namespace volley::delivery
