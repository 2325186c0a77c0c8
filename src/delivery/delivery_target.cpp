#include "delivery/delivery_target.hpp"

namespace volley::delivery {
namespace {

RcptOutcome failure(const Error& e, const std::string& relay, bool at_rcpt) {
  // RFC 3463 X.2.2: mailbox full.
  if (e.code == ErrorCode::TooBigForMailbox) return local_outcome(Status::Bounced, "5.2.2", e.message, relay);
  if (e.code == ErrorCode::MailboxFull) {
    RcptOutcome o = local_outcome(Status::Deferred, "4.2.2", e.message, relay);
    o.expired_enhanced = "5.2.2";
    return o;
  }
  // RFC 3463: 5.1.3 bad destination mailbox syntax for a permanent
  // recipient refusal; 4.3.0 (other mail system problem), or 4.3.1 for a
  // full disk, for the temporary rest.
  if (!e.temporary()) return local_outcome(Status::Bounced, at_rcpt ? "5.1.3" : "5.3.0", e.message, relay);
  return local_outcome(Status::Deferred, e.code == ErrorCode::NoSpace ? "4.3.1" : "4.3.0", e.message, relay);
}

}  // namespace

std::vector<RcptOutcome> deliver_through(DeliveryTarget& target, const queue::Message& m,
                                         const std::vector<size_t>& rcpts) {
  const std::string relay = target.name();
  std::vector<RcptOutcome> out(rcpts.size());
  auto started = target.start(m.envelope, m.content.size());
  if (!started) {
    for (auto& o : out) o = failure(started.error(), relay, false);
    return out;
  }
  Delivery& d = **started;
  std::vector<size_t> open;  // positions in rcpts accepted by add_rcpt
  for (size_t k = 0; k < rcpts.size(); ++k) {
    if (auto added = d.add_rcpt(m.envelope.recipients.at(rcpts[k])); !added)
      out[k] = failure(added.error(), relay, true);
    else
      open.push_back(k);
  }
  if (open.empty()) {
    d.abort();
    return out;
  }
  auto done = d.body(m.content);
  if (done) done = d.commit();
  if (!done) d.abort();
  for (size_t k : open)
    out[k] = done ? local_outcome(Status::Sent, "2.0.0", "250 2.0.0 delivered to " + relay, relay)
                  : failure(done.error(), relay, false);
  return out;
}

}  // namespace volley::delivery
