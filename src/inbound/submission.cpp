#include "inbound/submission.hpp"

#include <ctime>
#include <future>

#include "smtp/headers.hpp"
#include "smtp/received.hpp"
#include "util/strings.hpp"

namespace volley::inbound {

Result<void> prepare_submission(Intake& intake, queue::Message& message, const SubmissionTrace& trace) {
  auto snap = intake.snapshot();
  std::string signature;
  if (snap->signer) {
    const std::string_view content = message.content;
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
                 "\r\n\tid ", message.envelope.id, "; ",
                 smtp::rfc5322_date(static_cast<std::time_t>(message.envelope.received_at)), "\r\n");
  head += signature;
  message.content.insert(0, head);
  return {};
}

Result<void> commit_submissions(Intake& intake, const std::vector<std::shared_ptr<queue::Message>>& messages) {
  // Every commit is handed to the spool before waiting for any: they share
  // the spool's group commits instead of paying one fsync each.
  std::vector<std::promise<Result<void>>> done(messages.size());
  std::vector<std::future<Result<void>>> committed;
  committed.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    committed.push_back(done[i].get_future());
    intake.spool().commit(messages[i], [&done, i](Result<void> r) { done[i].set_value(std::move(r)); });
  }
  Result<void> first_failure;
  for (size_t i = 0; i < messages.size(); ++i) {
    Result<void> r = committed[i].get();
    if (r) intake.queued(messages[i]);
    else if (first_failure) first_failure = std::move(r);
  }
  return first_failure;
}

Result<void> commit_submission(Intake& intake, std::shared_ptr<queue::Message> message, const SubmissionTrace& trace) {
  if (auto r = prepare_submission(intake, *message, trace); !r) return r;
  return commit_submissions(intake, {std::move(message)});
}

}  // namespace volley::inbound
