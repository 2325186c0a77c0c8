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
  bool server_reply = false;  // `reply` is what a server answered, verbatim (a DSN's "Diagnostic-Code: smtp")
  std::string note;        // the queue manager's remark on the outcome ("message expired after ..."); "" none
  std::string enhanced;    // RFC 3463 status for DSNs ("5.1.1")
  std::string expired_enhanced;  // a deferral that expires is bounced with this status ("5.2.2" for a full
                                 // mailbox); "" = keep the last transient one (4.4.7 when none)
  std::string relay;       // "mx1.example.com[192.0.2.1]:25", or "local"
  std::string remote_mta;  // host name for the DSN's Remote-MTA; "" when none
  std::string tls;         // "TLSv1.3" / "none"
  bool relayed = false;    // handed to another MTA (success DSN says "relayed", not "delivered")
  std::string policy;      // transport-security policy applied: "none" / "mta-sts" / "mta-sts testing" / "dane"; "" = not an MX connection
  bool verified = false;   // the peer's certificate validated (chain and name, or TLSA)

  // The reply with the note in front: what logs and the attempt history show.
  std::string describe() const { return note.empty() ? reply : note + "; last error: " + reply; }
};

const char* status_name(Status s);  // sent | deferred | bounced

// Outcome for a reply code: 2xx sent, 4xx deferred, 5xx bounced (3xx where a
// final reply was expected is a protocol error: deferred).
Status status_for_code(int code);

// A 421, or any 4xx whose enhanced code is 4.7.x, is the receiver telling us
// to slow down: the destination backs off.
bool is_throttle(int code, std::string_view enhanced);

// What a server answered, as an outcome: 2xx sent, 4xx deferred, 5xx
// bounced; the enhanced code given, else x.0.0 of the reply's class; the
// reply kept verbatim for the DSN (server_reply). `remote_mta` is the name
// the DSN reports (Endpoint::mta_name: never empty for a connected route).
RcptOutcome reply_outcome(int code, std::string_view enhanced, std::string reply, std::string relay,
                          std::string remote_mta, std::string tls);

// A local failure as an outcome ("4.4.1" style status, no remote reply).
RcptOutcome local_outcome(Status status, std::string enhanced, std::string reason, std::string relay);

}  // namespace volley::delivery
