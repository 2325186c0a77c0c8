// Recipients the daemon consumes itself instead of storing or relaying them
// (the sending platform's report addresses: DSNs to VERP return paths, ARF
// complaints, mailto unsubscribes; platform/report_target.hpp). The engine
// splits them off before local/remote routing and runs the consumer's
// target on the blocking pool, as it does the Maildir target. Whatever the
// target answers is recorded like any delivery; a consumer never bounces
// what it cannot use (a bounce of a bounce loops), it drops it.
#pragma once

#include <string>

#include "delivery/delivery_target.hpp"

namespace volley::delivery {

class RecipientConsumer {
 public:
  virtual ~RecipientConsumer() = default;
  // Whether mail to `address` (a queued recipient) is the consumer's.
  // Asked on the engine thread: must not block.
  virtual bool consumes(const std::string& address) const = 0;
  // Runs on the blocking pool (several threads at once).
  virtual DeliveryTarget& target() = 0;
};

}  // namespace volley::delivery
