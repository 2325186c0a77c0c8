// The durable store behind the final 250. The SMTP intake only sees this
// interface, so the storage engine can change without touching the SMTP code.
//
// Contract: commit() takes the message, makes it durable (content and
// envelope on stable storage, including the directory entry), then calls
// `done` exactly once, from any thread. Only on success may the caller answer
// 250. On failure nothing of the message remains visible; the Error's code
// says why (ErrorCode::NoSpace for ENOSPC/EDQUOT: 452 4.3.1; anything else:
// 451 4.3.0). The message text is for the log, never for the client.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "queue/envelope.hpp"
#include "util/result.hpp"

namespace volley::queue {

class Spool {
 public:
  using Callback = std::function<void(Result<void>)>;
  virtual ~Spool() = default;
  virtual void commit(std::shared_ptr<const Message> message, Callback done) = 0;
  // Stops accepting work and waits for commits in flight to finish.
  virtual void shutdown() = 0;
};

}  // namespace volley::queue
