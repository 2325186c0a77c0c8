#include "delivery/dsn_notice.hpp"

#include "delivery/client_content.hpp"

namespace volley::delivery {

DsnRecipient dsn_recipient_for(const queue::Recipient& rcpt, const RcptOutcome& o, bool success, int64_t now_s) {
  DsnRecipient d;
  d.final_recipient = rcpt.address;
  d.orcpt_type = rcpt.orcpt_type;
  d.orcpt_address = rcpt.orcpt_address;
  d.action = !success ? DsnAction::Failed : (o.relayed ? DsnAction::Relayed : DsnAction::Delivered);
  d.status = o.enhanced.empty() ? (success ? "2.0.0" : "5.0.0") : o.enhanced;
  if (!success && d.status[0] == '2') d.status = "5.0.0";
  d.remote_mta = o.remote_mta;
  if (o.server_reply)
    d.diagnostic = o.reply;
  else if (o.relay != "local")
    d.reason = o.reply;
  if (!o.note.empty()) d.reason = d.reason.empty() ? o.note : o.note + "; " + d.reason;
  d.last_attempt = now_s;
  return d;
}

std::shared_ptr<queue::Message> make_dsn_message(const queue::Envelope& env, std::string_view content,
                                                 const std::vector<std::optional<RcptOutcome>>& outcomes,
                                                 const std::vector<size_t>& rcpts, bool success,
                                                 const DsnNotice& notice) {
  DsnRequest req;
  req.reporting_mta = notice.reporting_mta;
  req.queue_id = env.id;
  req.envid = env.dsn_envid;
  req.arrival = env.received_at;
  req.sender = env.sender;
  req.ret = env.dsn_ret;
  req.original = content;
  req.now = notice.now_s;
  req.message_id = notice.dsn_id + ".dsn@" + notice.reporting_mta;
  for (size_t i : rcpts) {
    if (i >= env.recipients.size() || i >= outcomes.size() || !outcomes[i]) continue;
    req.recipients.push_back(dsn_recipient_for(env.recipients[i], *outcomes[i], success, notice.now_s));
  }
  auto dsn = std::make_shared<queue::Message>();
  dsn->envelope.id = notice.dsn_id;
  dsn->content = build_dsn(req);
  dsn->envelope.sender = "";
  queue::Recipient to;
  to.address = env.sender;
  to.original = env.sender;
  dsn->envelope.recipients.push_back(std::move(to));
  dsn->envelope.received_at = notice.now_s;
  dsn->envelope.listener = "dsn";
  dsn->envelope.helo = notice.reporting_mta;
  dsn->envelope.eight_bit = scan_content(dsn->content).eight_bit;
  return dsn;
}

}  // namespace volley::delivery
