// The daemon's end of the admin socket (data_dir/admin.sock, mode 0600):
// accepts local connections, reads one JSON request per line and answers each
// with handle_admin_request (admin_protocol.hpp). A "send" request is
// followed by the message bytes its "size" names (send_protocol.hpp); those
// are read as a block and handed to the LocalSubmission, never parsed as lines.
//
// Everything here runs on the one io_context given to start(), so the
// connection set needs no lock. Queue calls (which may block on disk or on
// the committer) run on the server's own single thread, never on an I/O
// thread and never competing with password hashing on the runtime's pool.
#pragma once

#include <sys/types.h>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/thread_pool.hpp>
#include <memory>
#include <string>
#include <unordered_set>

#include "admin/admin_protocol.hpp"
#include "admin/send_protocol.hpp"
#include "queue/queue_admin.hpp"
#include "util/result.hpp"

namespace volley::admin {

class LocalSubmission;  // admin/local_submission.hpp

class AdminServer {
 public:
  // Binds the socket and starts accepting on `ctx`. A leftover socket file
  // from a crashed daemon is replaced; one that a live daemon still answers
  // on is an error (two daemons must not share a data_dir).
  // `users_changed` answers {"cmd":"users_changed"} (run on the server's own
  // thread, so it may block on the user store). `submission` (may be null:
  // send is refused) takes `volley send`'s messages; it must outlive this.
  static Result<std::unique_ptr<AdminServer>> start(asio::io_context& ctx, const std::string& data_dir,
                                                    queue::QueueAdmin& queue, UsersChanged users_changed = {},
                                                    LocalSubmission* submission = nullptr);
  // Call only once `ctx` has stopped running (or never ran): waits for a
  // queue call in flight, then removes the socket file if it is still ours.
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Drain: stop accepting and close idle connections; a request already
  // being answered still gets its answer. Call on ctx's thread.
  void close();
  const std::string& path() const { return path_; }

 private:
  struct Connection;
  AdminServer(asio::io_context& ctx, std::string path, queue::QueueAdmin& queue, UsersChanged users_changed,
              LocalSubmission* submission);
  Result<void> bind();
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Connection> c);
  // Reads a send request's message bytes (some may already be in `pending`)
  // and answers it. False when the connection must end.
  asio::awaitable<bool> serve_send(std::shared_ptr<Connection> c, std::string& pending, bool& eof,
                                   const SendRequest& request);
  asio::io_context& ctx_;
  std::string path_;
  queue::QueueAdmin& queue_;
  UsersChanged users_changed_;
  LocalSubmission* submission_;
  asio::local::stream_protocol::acceptor acceptor_;
  asio::thread_pool pool_{1};
  std::unordered_set<std::shared_ptr<Connection>> connections_;
  bool closing_ = false;
  // Identity of the socket file we created, so that exit never unlinks a
  // socket that a newer daemon put in its place.
  bool bound_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace volley::admin
