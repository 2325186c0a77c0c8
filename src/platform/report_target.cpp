#include "platform/report_target.hpp"

#include <ctime>
#include <optional>
#include <vector>

#include "platform/incoming_reports.hpp"
#include "platform/limits.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

class ReportDelivery final : public delivery::Delivery {
 public:
  ReportDelivery(ReportTarget& target, std::string queue_id) : target_(target), queue_id_(std::move(queue_id)) {}

  Result<void> add_rcpt(const queue::Recipient& rcpt) override {
    recipients_.push_back(rcpt.address);
    return {};
  }
  // deliver_through() keeps the content alive until commit() or abort().
  Result<void> body(std::string_view content) override {
    content_ = content;
    return {};
  }
  Result<void> commit() override {
    if (content_.size() > kMaxReportBytes) {
      log::warn("platform.report_dropped")
          .kv("id", queue_id_)
          .kv("bytes", static_cast<uint64_t>(content_.size()))
          .kv("reason", "larger than a report can be");
      return {};
    }
    std::optional<Error> retry;
    for (const auto& rcpt : recipients_) {
      auto done = target_.take(queue_id_, rcpt, content_);
      if (done) {
        log::info("platform.report").kv("id", queue_id_).kv("rcpt", rcpt).kv("result", *done);
      } else if (done.error().temporary()) {
        log::warn("platform.report_deferred").kv("id", queue_id_).kv("rcpt", rcpt).kv("error", done.error().message);
        retry = done.error();
      } else {
        log::info("platform.report_dropped").kv("id", queue_id_).kv("rcpt", rcpt).kv("reason", done.error().message);
      }
    }
    if (retry) return *retry;
    return {};
  }
  void abort() override {}

 private:
  ReportTarget& target_;
  std::string queue_id_;
  std::vector<std::string> recipients_;
  std::string_view content_;
};

}  // namespace

ReportTarget::ReportTarget(Platform& platform, KindOf kind_of, std::function<int64_t()> now)
    : platform_(platform), kind_of_(std::move(kind_of)), now_(std::move(now)) {
  if (!now_) now_ = [] { return static_cast<int64_t>(std::time(nullptr)); };
}

Result<std::unique_ptr<delivery::Delivery>> ReportTarget::start(const queue::Envelope& env, uint64_t) {
  return std::unique_ptr<delivery::Delivery>(std::make_unique<ReportDelivery>(*this, env.id));
}

bool ReportTarget::consumes(const std::string& address) const { return kind_of_(address) != ReportKind::None; }

Result<std::string> ReportTarget::take(const std::string& queue_id, const std::string& recipient,
                                       std::string_view content) {
  const IncomingReport in{queue_id, recipient, content, now_()};
  switch (kind_of_(recipient)) {
    case ReportKind::Bounce: return take_delivery_report(platform_, in);
    case ReportKind::Complaint: return take_feedback_report(platform_, in);
    case ReportKind::Unsubscribe: return take_mailto_unsubscribe(platform_, in);
    case ReportKind::None: break;
  }
  // The configuration changed since the engine split the recipients off.
  return make_error(ErrorCode::Invalid, "no longer a report address");
}

}  // namespace volley::platform
