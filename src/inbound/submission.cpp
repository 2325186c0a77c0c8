#include "inbound/submission.hpp"

#include <ctime>
#include <future>

#include "smtp/headers.hpp"
#include "smtp/received.hpp"
#include "util/strings.hpp"

namespace volley::inbound {

Result<void> commit_submission(Intake& intake, std::shared_ptr<queue::Message> message, const SubmissionTrace& trace) {
  auto snap = intake.snapshot();
  std::string signature;
  if (snap->signer) {
    const std::string_view content = message->content;
    // As the SMTP intake does it: the header block with its blank line, then the body.
    const size_t end = smtp::header_block_end(content);
    if (auto job = snap->signer->begin(content.substr(0, end))) {
      job->body(content.substr(end));
      auto fields = job->finish();
      // Never queue unsigned what the operator asked to have signed.
      if (!fields) return make_error(ErrorCode::Temporary, concat("DKIM signing failed: ", fields.error().message));
      signature = std::move(*fields);
    }
  }
  // Our trace header: who handed us the message, how, and its queue id.
  std::string head = "Received: ";
  if (!trace.from.empty()) {
    head += trace.from;
    head += "\r\n\t";
  }
  head += concat("by ", smtp::sanitize_for_header(snap->cfg.server.hostname), " (Volley) with ", trace.with,
                 "\r\n\tid ", message->envelope.id, "; ",
                 smtp::rfc5322_date(static_cast<std::time_t>(message->envelope.received_at)), "\r\n");
  head += signature;
  message->content.insert(0, head);

  std::promise<Result<void>> done;
  auto committed = done.get_future();
  intake.spool().commit(message, [&done](Result<void> r) { done.set_value(std::move(r)); });
  Result<void> r = committed.get();
  if (!r) return r;
  intake.queued(std::move(message));
  return {};
}

}  // namespace volley::inbound
