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

#include "queue/body_file.hpp"
#include "queue/envelope.hpp"
#include "util/result.hpp"

namespace volley::queue {

class Spool {
 public:
  using Callback = std::function<void(Result<void>)>;
  virtual ~Spool() = default;
  virtual void commit(std::shared_ptr<const Message> message, Callback done) = 0;
  // Large messages. create_body() makes a body file for message `id`
  // (blocking: call it off the I/O threads); the caller appends the content
  // as it arrives and sync()s it, then commit_stored() makes the message live
  // (envelope, `head` = the trace headers before the body, the body's size
  // and CRC) with `done` as for commit(). On failure the body file is removed.
  // A store without body files (the benchmark baselines) refuses; the intake
  // then answers 451 and nothing is lost.
  virtual Result<std::unique_ptr<BodyFile>> create_body(const std::string& id) {
    return make_error(ErrorCode::Invalid, "this spool does not store large message bodies");
  }
  virtual void commit_stored(std::shared_ptr<const Message> head, std::unique_ptr<BodyFile> body, Callback done) {
    done(make_error(ErrorCode::Invalid, "this spool does not store large message bodies"));
  }
  // Stops accepting work and waits for commits in flight to finish.
  virtual void shutdown() = 0;
};

}  // namespace volley::queue
