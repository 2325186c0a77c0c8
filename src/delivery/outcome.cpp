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

RcptOutcome reply_outcome(int code, std::string_view enhanced, std::string reply, std::string relay,
                          std::string remote_mta, std::string tls) {
  RcptOutcome o;
  o.status = status_for_code(code);
  o.reply = std::move(reply);
  o.enhanced = !enhanced.empty()                ? std::string(enhanced)
               : o.status == Status::Sent     ? "2.0.0"
               : o.status == Status::Bounced  ? "5.0.0"
                                              : "4.0.0";
  o.relay = std::move(relay);
  o.remote_mta = std::move(remote_mta);
  o.tls = std::move(tls);
  o.relayed = true;
  o.server_reply = true;
  return o;
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
