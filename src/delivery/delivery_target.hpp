// Where a message goes once the engine has decided (maddy's delivery_target):
// a target starts a delivery for one message, takes recipients one by one,
// then the body, and either commits or aborts. Nothing is visible or durable
// before commit(); abort() (or destroying an uncommitted delivery) leaves no
// trace. Errors are temporary unless proven permanent (Error::temporary()):
// a permanent add_rcpt refusal bounces that recipient only; any other
// failure defers every recipient still open.
//
// Implemented by local Maildir delivery (maildir_target.hpp); the engine
// hands a job to a target and records the outcomes, so further targets
// (LMTP, a webhook) slot in without another branch in the engine.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/outcome.hpp"
#include "queue/envelope.hpp"
#include "util/result.hpp"

namespace volley::delivery {

class Delivery {
 public:
  virtual ~Delivery() = default;
  [[nodiscard]] virtual Result<void> add_rcpt(const queue::Recipient& rcpt) = 0;
  // The content for every recipient accepted so far.
  [[nodiscard]] virtual Result<void> body(std::string_view content) = 0;
  [[nodiscard]] virtual Result<void> commit() = 0;
  virtual void abort() = 0;
};

class DeliveryTarget {
 public:
  virtual ~DeliveryTarget() = default;
  // "local" for logs and the attempt history.
  virtual std::string name() const = 0;
  // `content_size`: the bytes body() will get (targets with quotas check
  // them per recipient in add_rcpt).
  [[nodiscard]] virtual Result<std::unique_ptr<Delivery>> start(const queue::Envelope& env, uint64_t content_size) = 0;
};

// Runs one delivery of `m` to recipients `rcpts` (indexes into its envelope)
// through `target` and returns one outcome per rcpts[k]: sent after commit,
// bounced for a permanent refusal, deferred for anything temporary. A full
// mailbox (ErrorCode::MailboxFull) is deferred with 4.2.2 and bounced with
// 5.2.2 once the message expires; a message larger than the quota
// (TooBigForMailbox) is bounced with 5.2.2 at once.
std::vector<RcptOutcome> deliver_through(DeliveryTarget& target, const queue::Message& m,
                                         const std::vector<size_t>& rcpts);

}  // namespace volley::delivery
