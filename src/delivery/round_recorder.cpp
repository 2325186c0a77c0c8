#include "delivery/round_recorder.hpp"

#include <cstdio>

#include "delivery/dsn_notice.hpp"
#include "queue/queue_id.hpp"
#include "util/log.hpp"

namespace volley::delivery {
namespace {

std::string seconds_text(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(ms) / 1000.0);
  return buf;
}

}  // namespace

RoundResult RoundRecorder::record(ActiveMessage& a, const RoundPolicy& policy, const std::string& reporting_mta) {
  const int64_t now = clock_.unix_ms();
  const uint32_t attempt = a.env.deferrals + 1;  // before apply_round counts this round
  RoundResult r = apply_round(a.env, a.outcomes, now, policy);
  log_outcomes(a, attempt, now);
  if (observer_ && a.env.tracked) observer_->round_finished(a.env, a.outcomes);
  if (!r.failed.empty()) queue_dsn(a, r.failed, false, reporting_mta);
  if (!r.succeeded.empty()) queue_dsn(a, r.succeeded, true, reporting_mta);
  const std::string id = a.env.id;
  if (r.finished) {
    spool_.erase(id, [id](Result<void> cr) {
      if (!cr) log::error("queue.erase_failed").kv("id", id).kv("error", cr.error().message);
    });
  } else if (r.changed) {
    spool_.update(a.env, [id](Result<void> cr) {
      if (!cr) log::error("queue.update_failed").kv("id", id).kv("error", cr.error().message);
    });
  }
  return r;
}

void RoundRecorder::log_outcomes(const ActiveMessage& a, uint32_t attempt, int64_t now_ms) const {
  const std::string delay = seconds_text(now_ms - a.env.received_at * 1000);
  for (size_t i = 0; i < a.outcomes.size(); ++i) {
    const auto& o = a.outcomes[i];
    if (!o) continue;
    auto line = o->status == Status::Sent ? log::info("delivery") : log::warn("delivery");
    line.kv("id", a.env.id)
        .kv("rcpt", a.env.recipients[i].address)
        .kv("relay", o->relay.empty() ? std::string("none") : o->relay)
        .kv("tls", o->tls.empty() ? std::string("none") : o->tls)
        .kv("policy", o->policy.empty() ? std::string("none") : o->policy)
        .kv("verified", o->verified ? "yes" : "no")
        .kv("status", status_name(o->status))
        .kv("attempt", static_cast<uint64_t>(attempt))
        .kv("delay", delay)
        .kv("reply", o->describe());
  }
}

void RoundRecorder::queue_dsn(const ActiveMessage& a, const std::vector<size_t>& rcpts, bool success,
                              const std::string& reporting_mta) {
  DsnNotice notice;
  notice.reporting_mta = reporting_mta;
  notice.dsn_id = queue::make_queue_id();
  notice.now_s = clock_.unix_seconds();
  std::shared_ptr<const queue::Message> msg = make_dsn_message(a.env, a.msg->content, a.outcomes, rcpts, success, notice);
  bool any_relayed = false;
  for (size_t i : rcpts) any_relayed = any_relayed || (success && a.outcomes[i] && a.outcomes[i]->relayed);
  const std::string action = !success ? "failed" : any_relayed ? "relayed" : "delivered";
  const std::string original = a.env.id;
  const uint64_t count = rcpts.size();
  spool_.commit(msg, [submit = submit_, msg, action, original, count](Result<void> cr) {
    if (!cr) {
      log::error("dsn.failed").kv("original", original).kv("error", cr.error().message);
      return;
    }
    log::info("dsn.queued").kv("id", msg->envelope.id).kv("original", original).kv("action", action).kv("rcpts", count);
    if (submit) submit(msg);
  });
}

}  // namespace volley::delivery
