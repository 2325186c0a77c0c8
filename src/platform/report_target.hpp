// The delivery target for the platform's report addresses
// (report_address.hpp): DSNs to VERP return paths, ARF complaints to
// api.complaints_address, mailto unsubscribes to unsubscribe@D. The engine
// hands it the recipients it consumes (delivery/recipient_consumer.hpp)
// and runs it on the blocking pool. commit() reads the message
// (incoming_reports.hpp) and answers delivered: the message is consumed,
// never stored in a Maildir, never relayed. A message it cannot use is
// logged and dropped, still "delivered" (a bounce of a report would only
// loop); only a storage failure defers it (the queue tries again, and
// every change is idempotent). Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "delivery/delivery_target.hpp"
#include "delivery/recipient_consumer.hpp"
#include "platform/platform.hpp"
#include "platform/report_address.hpp"

namespace volley::platform {

class ReportTarget final : public delivery::DeliveryTarget, public delivery::RecipientConsumer {
 public:
  // What an address is to the platform right now: the recipient
  // directory's report_kind (the configuration of the moment, real users
  // winning over unsubscribe@), so RCPT and delivery agree.
  using KindOf = std::function<ReportKind(std::string_view address)>;

  ReportTarget(Platform& platform, KindOf kind_of, std::function<int64_t()> now = nullptr);

  // DeliveryTarget
  std::string name() const override { return "platform"; }
  Result<std::unique_ptr<delivery::Delivery>> start(const queue::Envelope& env, uint64_t content_size) override;

  // RecipientConsumer
  bool consumes(const std::string& address) const override;
  delivery::DeliveryTarget& target() override { return *this; }

  // Reads one report sent to `recipient` (what commit() does per recipient):
  // the summary of what it did, Invalid when it was dropped, a temporary
  // error when the platform's storage failed.
  Result<std::string> take(const std::string& queue_id, const std::string& recipient, std::string_view content);

 private:
  Platform& platform_;
  KindOf kind_of_;
  std::function<int64_t()> now_;
};

}  // namespace volley::platform
