#include "admin/local_submission.hpp"

#include <algorithm>

#include "admin/send_message.hpp"
#include "inbound/submission.hpp"
#include "platform/mime_builder.hpp"
#include "queue/queue_id.hpp"
#include "smtp/address.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::admin {
namespace {

bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// Where mail for one --to address goes: alias targets or the user itself in
// a local domain (refusing what SMTP's RCPT refuses), the address elsewhere.
Result<std::vector<std::string>> targets_of(const inbound::Snapshot& snap, const std::string& given) {
  auto parsed = smtp::parse_mailbox(given, /*allow_utf8=*/true);
  if (!parsed.ok) return make_error(ErrorCode::Invalid, address_problem(given));
  const smtp::Mailbox& mb = parsed.value.path.mailbox;
  if (mb.domain_is_literal() || !snap.directory->is_local_domain(to_lower(mb.domain)))
    return std::vector<std::string>{mb.to_string()};
  if (const char* why = smtp::mailbox_name_problem(mb))
    return make_error(ErrorCode::Invalid, concat(quoted(given, 64), ": ", why));
  auto found = snap.directory->local_targets(mb.lookup_key());
  if (!found && found.error().temporary())
    return make_error(ErrorCode::Temporary, concat("cannot look up ", quoted(given, 64), " now: ", found.error().message));
  if (!found || found->empty()) return make_error(ErrorCode::NotFound, concat("no such local user ", quoted(given, 64)));
  return std::move(found.value());
}

class IntakeSubmission final : public LocalSubmission {
 public:
  IntakeSubmission(inbound::Intake& intake, const Clock& clock) : intake_(intake), clock_(clock) {}

  SendLimits limits() const override {
    auto snap = intake_.snapshot();
    return SendLimits{snap->cfg.limits.max_message_size, snap->cfg.limits.max_recipients};
  }

  Result<std::string> submit(const SendRequest& request, std::string raw, uid_t uid) override {
    auto snap = intake_.snapshot();
    auto msg = std::make_shared<queue::Message>();
    queue::Envelope& env = msg->envelope;
    env.id = queue::make_queue_id();
    env.sender = request.from;
    env.received_at = clock_.unix_seconds();
    env.auth_user = concat("local:", std::to_string(uid));
    env.listener = "cli";
    env.smtputf8 = has_8bit(request.from);
    for (const std::string& given : request.to) {
      auto targets = targets_of(*snap, given);
      if (!targets) return targets.error();
      for (std::string& t : targets.value()) {
        const bool seen = std::any_of(env.recipients.begin(), env.recipients.end(),
                                      [&](const queue::Recipient& r) { return r.address == t; });
        if (seen) continue;  // "--to a --to a", or two aliases sharing a member: one copy
        queue::Recipient r;
        r.address = std::move(t);
        r.original = given;
        env.smtputf8 = env.smtputf8 || has_8bit(r.address) || has_8bit(given);
        env.recipients.push_back(std::move(r));
      }
    }

    LocalMessageFields fields;
    fields.from = request.from;
    fields.subject = request.subject;
    fields.stamp = platform::make_stamp(clock_);
    msg->content = prepare_local_message(raw, fields);
    raw = std::string();  // the prepared copy is the one kept
    const uint64_t limit = snap->cfg.limits.max_message_size;
    if (msg->content.size() > limit)
      return make_error(ErrorCode::Invalid,
                        concat("message too large once prepared (", std::to_string(msg->content.size()),
                               " bytes with CRLF line endings and added headers; limit ", std::to_string(limit),
                               ", limits.max_message_size)"));
    env.eight_bit = has_8bit(msg->content);
    const uint64_t size = msg->content.size();

    inbound::SubmissionTrace trace;
    trace.with = concat("local (volley send, uid ", std::to_string(uid), ")");
    if (auto r = inbound::commit_submission(intake_, msg, trace); !r) {
      log::error("send.failed").kv("uid", static_cast<uint64_t>(uid)).kv("error", r.error().message);
      return make_error(r.error().code, concat("could not queue the message: ", r.error().message));
    }
    log::info("send.queued")
        .kv("id", env.id)
        .kv("uid", static_cast<uint64_t>(uid))
        .kv("from", request.from)
        .kv("rcpts", static_cast<uint64_t>(env.recipients.size()))
        .kv("size", size);
    return env.id;
  }

 private:
  inbound::Intake& intake_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<LocalSubmission> make_intake_submission(inbound::Intake& intake, const Clock& clock) {
  return std::make_unique<IntakeSubmission>(intake, clock);
}

}  // namespace volley::admin
