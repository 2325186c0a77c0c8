#include "delivery/outcome.hpp"

namespace volley::delivery {

const char* status_name(Status s) {
  switch (s) {
    case Status::Sent: return "sent";
    case Status::Deferred: return "deferred";
    case Status::Bounced: return "bounced";
  }
  return "deferred";
}

Status status_for_code(int code) {
  if (code >= 200 && code < 300) return Status::Sent;
  if (code >= 500 && code < 600) return Status::Bounced;
  return Status::Deferred;
}

bool is_throttle(int code, std::string_view enhanced) {
  if (code == 421) return true;
  return code >= 400 && code < 500 && enhanced.size() >= 3 && enhanced.substr(0, 3) == "4.7";
}

RcptOutcome local_outcome(Status status, std::string enhanced, std::string reason, std::string relay) {
  RcptOutcome o;
  o.status = status;
  o.enhanced = std::move(enhanced);
  o.reply = std::move(reason);
  o.relay = std::move(relay);
  o.tls = "none";
  return o;
}

}  // namespace volley::delivery
