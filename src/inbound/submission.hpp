// The one intake step for messages this server originates without an SMTP
// session: the HTTP API (POST /v1/messages) and `volley send` over the admin
// socket. Both hand over a complete message and its envelope; this signs
// it, adds our trace header, commits it durably and hands it to delivery,
// exactly as the SMTP intake does for a submitted message.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "inbound/intake.hpp"
#include "queue/envelope.hpp"
#include "util/result.hpp"

namespace volley::inbound {

// What our Received header says about where the message came from. Both
// parts are written as given: the caller sanitises what it got from a client
// (smtp::sanitize_for_header).
struct SubmissionTrace {
  std::string from;  // "from [192.0.2.1]"; "" for none (a local program has no peer)
  std::string with;  // "HTTP API (key shop)", "local (volley send, uid 1000)"
};

// Signs (DKIM, when the From domain has keys), prepends our Received
// header, commits durably to the queue and hands the message to delivery.
// Blocks until the commit is on disk: the same promise as SMTP's 250, so
// call it off the I/O threads. `message` has the envelope filled (id,
// sender, recipients, received_at, ...) and the content, CRLF, without
// trace headers. On failure nothing is queued.
Result<void> commit_submission(Intake& intake, std::shared_ptr<queue::Message> message, const SubmissionTrace& trace);

// The same in two halves, for many messages at once (a campaign's batch):
// prepare_submission signs and prepends the trace header (no I/O);
// commit_submissions starts every commit, then waits for all of them (they
// share group commits), hands each message that committed to delivery and
// returns the first failure (the others may or may not be durable: the
// caller finds out, e.g. by id).
Result<void> prepare_submission(Intake& intake, queue::Message& message, const SubmissionTrace& trace);
Result<void> commit_submissions(Intake& intake, const std::vector<std::shared_ptr<queue::Message>>& messages);

}  // namespace volley::inbound
