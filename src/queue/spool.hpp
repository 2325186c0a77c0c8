// The durable store behind the final 250. The SMTP intake only sees this
// interface, so the next storage engine (a log with group commit) replaces the
// file spool without touching the SMTP code.
//
// Contract: commit() takes the message, makes it durable (content and
// envelope on stable storage, including the directory entry), then calls
// `done` exactly once, from any thread. Only on CommitStatus::Ok may the
// caller answer 250. On failure nothing of the message remains visible.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "queue/envelope.hpp"

namespace volley::queue {

enum class CommitStatus {
  Ok,
  NoSpace,  // ENOSPC / EDQUOT: 452 4.3.1
  Failed,   // anything else: 451 4.3.0
};

struct CommitResult {
  CommitStatus status = CommitStatus::Ok;
  std::string detail;  // for the log, never for the client
};

class Spool {
 public:
  using Callback = std::function<void(CommitResult)>;
  virtual ~Spool() = default;
  virtual void commit(std::shared_ptr<const Message> message, Callback done) = 0;
  // Stops accepting work and waits for commits in flight to finish.
  virtual void shutdown() = 0;
};

}  // namespace volley::queue
