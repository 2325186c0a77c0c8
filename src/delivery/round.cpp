#include "delivery/round.hpp"

#include <algorithm>

#include "smtp/command.hpp"

namespace volley::delivery {
namespace {

queue::RecipientState state_for(Status s) {
  switch (s) {
    case Status::Sent: return queue::RecipientState::Delivered;
    case Status::Bounced: return queue::RecipientState::Bounced;
    case Status::Deferred: return queue::RecipientState::Deferred;
  }
  return queue::RecipientState::Deferred;
}

// RFC 3461 4.1: without NOTIFY the MTA reports failures (DELAY is ours to
// choose; we send no delay notices).
bool wants_failure(unsigned notify) {
  if (notify & smtp::kNotifyNever) return false;
  return notify == 0 || (notify & smtp::kNotifyFailure);
}

bool wants_success(unsigned notify) { return (notify & smtp::kNotifySuccess) && !(notify & smtp::kNotifyNever); }

std::string age_text(int64_t ms) {
  int64_t s = ms / 1000;
  if (s >= 86400) return std::to_string(s / 86400) + " days";
  if (s >= 3600) return std::to_string(s / 3600) + " hours";
  if (s >= 60) return std::to_string(s / 60) + " minutes";
  return std::to_string(s) + " seconds";
}

}  // namespace

std::chrono::milliseconds retry_delay(const std::vector<std::chrono::milliseconds>& schedule, uint32_t deferrals) {
  if (schedule.empty()) return limits::kFallbackRetryDelay;
  size_t i = deferrals == 0 ? 0 : std::min<size_t>(deferrals - 1, schedule.size() - 1);
  return schedule[i];
}

RoundResult apply_round(queue::Envelope& env, std::vector<std::optional<RcptOutcome>>& outcomes, int64_t now_ms,
                        const RoundPolicy& policy) {
  RoundResult r;
  const int64_t age_ms = now_ms - env.received_at * 1000;
  // received_at is in whole seconds (rounded down): the message may have
  // arrived up to 999 ms later, so it expires only once even that latest
  // arrival is max_age old (never early; at most a second late).
  const bool expired = policy.max_age.count() > 0 && age_ms - 999 >= policy.max_age.count();
  bool deferred_now = false;
  for (size_t i = 0; i < env.recipients.size() && i < outcomes.size(); ++i) {
    auto& o = outcomes[i];
    if (!o) continue;
    auto& rcpt = env.recipients[i];
    if (o->status == Status::Deferred && expired) {
      // Give up: the recipient has waited max_age. The reply and its status
      // stay the last ones seen (the DSN reports them, as Postfix does:
      // "Status: 4.3.0", "Diagnostic-Code: smtp; 451 4.3.0 ..."); 4.4.7
      // only when there is no transient status to report.
      o->status = Status::Bounced;
      if (!o->expired_enhanced.empty())
        o->enhanced = o->expired_enhanced;  // a full mailbox stays full: 5.2.2, not the 4.2.2 of the retries
      else if (o->enhanced.empty() || o->enhanced[0] != '4')
        o->enhanced = "4.4.7";
      o->note = "message expired after " + age_text(age_ms) + " in the queue";
    }
    rcpt.state = state_for(o->status);
    r.changed = true;
    env.attempts.push_back(queue::Attempt{now_ms / 1000, rcpt.address, status_name(o->status), o->relay, o->describe()});
    if (o->status == Status::Deferred) deferred_now = true;
    if (env.sender.empty()) continue;  // never a DSN to the null sender
    // A tracked message (sending platform) reports to its sender as events;
    // its return path is our own VERP address, so a DSN would only come
    // back to us as a bounce of a bounce.
    if (env.tracked) continue;
    if (o->status == Status::Bounced && wants_failure(rcpt.notify)) r.failed.push_back(i);
    if (o->status == Status::Sent && wants_success(rcpt.notify)) r.succeeded.push_back(i);
  }
  if (env.attempts.size() > policy.max_attempts_kept)
    env.attempts.erase(env.attempts.begin(),
                       env.attempts.begin() + static_cast<std::ptrdiff_t>(env.attempts.size() - policy.max_attempts_kept));
  r.finished = queue::all_final(env);
  if (r.finished) return r;
  if (deferred_now) {
    ++env.deferrals;
    r.next_attempt_ms = now_ms + retry_delay(policy.retry_schedule, env.deferrals).count();
    env.next_attempt = (r.next_attempt_ms + 999) / 1000;
  } else {
    // Recipients left untried this round (their destination was full):
    // soon again, without counting a deferral.
    r.next_attempt_ms = now_ms + limits::kUntriedRetry.count();
    r.only_untried = true;
  }
  return r;
}

}  // namespace volley::delivery
