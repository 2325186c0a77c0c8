// Carries out smtp::Session's Spill action for one SMTP connection: a large
// message's content goes to a body file in the queue (queue/body_file.hpp) as
// it arrives, written and synced on the runtime's spill pool so no I/O thread
// waits on the disk, and is committed through the queue's group commit
// (LogSpool::commit_stored) before the session may answer 250.
//
// The connection loop awaits each request before it reads again, so a
// spilling session holds at most one piece (about
// limits.message_memory_threshold) in memory. A body file not committed when
// the transaction ends (refused, RSET, dropped connection, failed write) is
// removed at once; one left by a crash is removed when the queue is opened.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <memory>

#include "inbound/intake.hpp"
#include "smtp/session.hpp"

namespace volley::inbound {

class MessageSpill {
 public:
  explicit MessageSpill(Intake& intake);
  ~MessageSpill();  // removes a body file still open (on the spill pool)
  MessageSpill(const MessageSpill&) = delete;
  MessageSpill& operator=(const MessageSpill&) = delete;

  // Takes the session's SpillRequest, carries it out and gives the session
  // its answer (spill_result / commit_result). `ex` is the connection's own
  // executor: the coroutine resumes there.
  asio::awaitable<void> carry_out(smtp::Session& session, asio::any_io_executor ex);

 private:
  struct Open;  // the body file being written, shared with pool jobs
  Intake& rt_;
  std::shared_ptr<Open> open_;
};

}  // namespace volley::inbound
