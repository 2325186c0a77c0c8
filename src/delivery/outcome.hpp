// What one delivery attempt did for one recipient: the vocabulary shared by
// the SMTP client, local delivery and the engine that records the result.
#pragma once

#include <string>
#include <string_view>

namespace volley::delivery {

enum class Status { Sent, Deferred, Bounced };

struct RcptOutcome {
  Status status = Status::Deferred;
  std::string reply;       // remote reply on one line ("550 5.1.1 No such user") or a local reason
  std::string enhanced;    // RFC 3463 status for DSNs ("5.1.1")
  std::string relay;       // "mx1.example.com[192.0.2.1]:25", or "local"
  std::string remote_mta;  // host name for the DSN's Remote-MTA; "" when none
  std::string tls;         // "TLSv1.3" / "none"
  bool relayed = false;    // handed to another MTA (success DSN says "relayed", not "delivered")
};

const char* status_name(Status s);  // sent | deferred | bounced

// Outcome for a reply code: 2xx sent, 4xx deferred, 5xx bounced (3xx where a
// final reply was expected is a protocol error: deferred).
Status status_for_code(int code);

// A 421, or any 4xx whose enhanced code is 4.7.x, is the receiver telling us
// to slow down: the destination backs off.
bool is_throttle(int code, std::string_view enhanced);

// A local failure as an outcome ("4.4.1" style status, no remote reply).
RcptOutcome local_outcome(Status status, std::string enhanced, std::string reason, std::string relay);

}  // namespace volley::delivery
