// The daemon's end of `volley send` (send_protocol.hpp): a message a local
// administrator hands over on the admin socket enters the queue through the
// same intake step as the HTTP API's (inbound::commit_submission): DKIM
// signed when the From domain has a key, our Received header, a durable
// commit, then delivery.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "admin/send_protocol.hpp"
#include "inbound/intake.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace volley::admin {

class LocalSubmission {
 public:
  virtual ~LocalSubmission() = default;
  // The limits a send request is checked against now (they follow reloads).
  // Cheap and thread-safe: asked on an I/O thread.
  virtual SendLimits limits() const = 0;
  // Queues `message` (exactly request.size bytes, as sent) for `request`'s
  // recipients; `uid` is the connecting user's (logged, and in the trace
  // header). Returns the queue id. Blocks until the message is on disk.
  virtual Result<std::string> submit(const SendRequest& request, std::string message, uid_t uid) = 0;
};

// Over the daemon's intake. Recipients in local domains are resolved as
// SMTP's RCPT does (aliases; an unknown user is refused, not bounced
// later); others are relayed, as for an authenticated submission. The
// message is prepared by prepare_local_message; one that grows over
// limits.max_message_size in the process is refused. Envelope: listener
// "cli", auth_user "local:<uid>".
std::unique_ptr<LocalSubmission> make_intake_submission(inbound::Intake& intake, const Clock& clock);

}  // namespace volley::admin
