#include "admin/admin_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/asio_compat.hpp"
#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "admin/admin_protocol.hpp"
#include "admin/local_submission.hpp"
#include "net/async_bridge.hpp"
#include "util/strings.hpp"
#include "util/log.hpp"

namespace volley::admin {
namespace {

using asio::local::stream_protocol;
constexpr auto kUseTuple = as_tuple(asio::use_awaitable);
// A request must arrive, and an answer be taken, within this long; a stuck
// or forgotten client cannot hold a connection (and a descriptor) forever.
constexpr std::chrono::seconds kStepTimeout{30};
// Only the daemon's owner can connect at all; this bounds a runaway script.
constexpr size_t kMaxConnections = 16;

struct Answer {
  std::string line;
  RequestSummary summary;
};

// Bytes read at once while a send request's message arrives.
constexpr size_t kMessageChunkBytes = 64 * 1024;

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error("bug.exception").kv("where", "admin").kv("what", ex.what());
  } catch (...) {
    log::error("bug.exception").kv("where", "admin").kv("what", "unknown");
  }
}

// Removes a socket file left by a daemon that died without cleaning up.
// Refuses when something answers on it: that is a live daemon on this
// data_dir, and taking its socket would hide it from `volley queue`.
Result<void> clear_stale_socket(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return make_error("cannot check " + path + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode)) return make_error(path + " exists and is not a socket; move it away");
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int err = errno;
  ::close(fd);
  // EAGAIN: a full backlog, which only a live listener has.
  if (rc == 0 || err == EAGAIN || err == EINPROGRESS)
    return make_error("another volley daemon is running with this data_dir (it answers on " + path + ")");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return make_error("cannot remove stale " + path + ": " + std::strerror(errno));
  log::info("admin.stale_socket_removed").kv("path", path);
  return {};
}

// Only our own user (and root) may administer the queue. The 0600 socket
// already enforces that; this holds even if someone loosens the file mode.
bool peer_allowed(stream_protocol::socket& s, uid_t& uid) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  uid = cred.uid;
  return cred.uid == ::geteuid() || cred.uid == 0;
}

// Best effort, non-blocking: a fresh socket always has room for one line.
void refuse(stream_protocol::socket& s, const std::string& line) {
  asio::error_code ec;
  s.non_blocking(true, ec);
  s.write_some(asio::buffer(line), ec);
  s.close(ec);
}

void log_request(const RequestSummary& s) {
  // Deleting is an operator action worth an audit line; reads are routine
  // (monitoring may poll "list") and stay at debug.
  if (s.cmd == "delete") {
    auto line = log::info("admin.delete");
    line.kv("id", s.id).kv("ok", s.ok);
    if (!s.ok) line.kv("error", s.error);
    return;
  }
  if (s.cmd == "retry" || s.cmd == "flush") {
    auto line = log::info(s.cmd == "retry" ? "admin.retry" : "admin.flush");
    if (!s.id.empty()) line.kv("id", s.id);
    if (!s.domain.empty()) line.kv("domain", s.domain);
    line.kv("ok", s.ok).kv("count", static_cast<uint64_t>(s.count));
    if (!s.ok) line.kv("error", s.error);
    return;
  }
  auto line = log::debug("admin.request");
  line.kv("cmd", s.cmd).kv("ok", s.ok);
  if (!s.id.empty()) line.kv("id", s.id);
  if (!s.ok) line.kv("error", s.error);
}

}  // namespace

struct AdminServer::Connection {
  Connection(stream_protocol::socket s, uid_t peer_uid)
      : socket(std::move(s)), timer(socket.get_executor()), uid(peer_uid) {}
  stream_protocol::socket socket;
  asio::steady_timer timer;
  uid_t uid;          // the peer's (SO_PEERCRED), for `volley send`'s log and trace
  bool idle = false;  // waiting for a request: close() may hang up now

  // When the deadline passes the socket is closed, which ends the pending
  // read or write with an error.
  static void arm(const std::shared_ptr<Connection>& c) {
    c->timer.expires_after(kStepTimeout);
    c->timer.async_wait([weak = std::weak_ptr<Connection>(c)](const asio::error_code& ec) {
      if (ec) return;
      if (auto conn = weak.lock()) {
        log::debug("admin.timeout");
        asio::error_code ignored;
        conn->socket.close(ignored);
      }
    });
  }
};

AdminServer::AdminServer(asio::io_context& ctx, std::string path, queue::QueueAdmin& queue, UsersChanged users_changed,
                         LocalSubmission* submission)
    : ctx_(ctx),
      path_(std::move(path)),
      queue_(queue),
      users_changed_(std::move(users_changed)),
      submission_(submission),
      acceptor_(ctx) {}

Result<std::unique_ptr<AdminServer>> AdminServer::start(asio::io_context& ctx, const std::string& data_dir,
                                                       queue::QueueAdmin& queue, UsersChanged users_changed,
                                                       LocalSubmission* submission) {
  std::unique_ptr<AdminServer> server(
      new AdminServer(ctx, socket_path(data_dir), queue, std::move(users_changed), submission));
  if (auto bound = server->bind(); !bound) return bound.error();
  asio::co_spawn(ctx, server->accept_loop(), log_exception);
  return server;
}

Result<void> AdminServer::bind() {
  if (path_.size() >= sizeof(sockaddr_un::sun_path))
    return make_error("admin socket path " + path_ + " is too long for a Unix socket (limit " +
                      std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes); use a shorter data_dir");
  if (auto cleared = clear_stale_socket(path_); !cleared) return cleared.error();
  asio::error_code ec;
  acceptor_.open(stream_protocol(), ec);
  if (!ec) {
    // The file is born owner-only (umask 077), so there is no moment in
    // which another user could connect before the chmod below. umask is
    // process-wide, but 077 only makes anything created meanwhile stricter.
    mode_t old = ::umask(077);
    acceptor_.bind(stream_protocol::endpoint(path_), ec);
    ::umask(old);
  }
  if (ec) return make_error("cannot create admin socket " + path_ + ": " + ec.message());
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    bound_ = true;
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  if (::chmod(path_.c_str(), 0600) != 0)
    return make_error("cannot chmod admin socket " + path_ + ": " + std::strerror(errno));
  acceptor_.listen(16, ec);
  if (ec) return make_error("cannot listen on admin socket " + path_ + ": " + ec.message());
  return {};
}

AdminServer::~AdminServer() {
  close();
  pool_.join();  // a delete in flight completes before the queue shuts down
  connections_.clear();
  struct stat st {};
  if (bound_ && ::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) ::unlink(path_.c_str());
}

void AdminServer::close() {
  closing_ = true;
  asio::error_code ec;
  acceptor_.close(ec);
  for (const auto& c : connections_)
    if (c->idle) c->socket.close(ec);
}

asio::awaitable<void> AdminServer::accept_loop() {
  for (;;) {
    auto [ec, accepted] = co_await acceptor_.async_accept(kUseTuple);
    stream_protocol::socket socket(std::move(accepted));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      log::warn("admin.accept_failed").kv("error", ec.message());
      // Out of descriptors: pause rather than spin.
      asio::steady_timer t(ctx_, std::chrono::milliseconds(100));
      co_await t.async_wait(kUseTuple);
      continue;
    }
    uid_t uid = 0;
    if (!peer_allowed(socket, uid)) {
      log::warn("admin.refused").kv("uid", static_cast<uint64_t>(uid)).kv("reason", "not the daemon's user or root");
      refuse(socket, "{\"ok\":false,\"error\":\"permission denied\"}\n");
      continue;
    }
    if (connections_.size() >= kMaxConnections) {
      refuse(socket, "{\"ok\":false,\"error\":\"too many admin connections\"}\n");
      continue;
    }
    auto c = std::make_shared<Connection>(std::move(socket), uid);
    connections_.insert(c);
    asio::co_spawn(ctx_, serve(c), log_exception);
  }
}

asio::awaitable<void> AdminServer::serve(std::shared_ptr<Connection> c) {
  std::string pending;
  std::array<char, 4096> chunk;
  bool eof = false;
  while (!closing_) {
    size_t nl = pending.find('\n');
    if (nl == std::string::npos && !eof) {
      if (pending.size() > kMaxRequestBytes) {
        // No line end within the limit: answer once, then hang up, since
        // there is no telling where the next request would start. (The
        // size check comes first, so this never touches the queue.)
        std::string line = handle_admin_request(pending, queue_) + "\n";
        Connection::arm(c);
        co_await asio::async_write(c->socket, asio::buffer(line), kUseTuple);
        break;
      }
      c->idle = true;
      Connection::arm(c);
      auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(chunk), kUseTuple);
      c->idle = false;
      c->timer.cancel();
      pending.append(chunk.data(), n);
      if (ec == asio::error::eof) eof = true;
      else if (ec) break;  // timeout, drain or reset
      continue;
    }
    if (nl == std::string::npos) {
      if (pending.empty()) break;  // EOF after the last request: done
      nl = pending.size();         // a last request without its newline still counts
    }
    std::string request = pending.substr(0, nl);
    pending.erase(0, std::min(nl + 1, pending.size()));
    if (!request.empty() && request.back() == '\r') request.pop_back();
    if (request.empty()) continue;

    // A send request: the message bytes follow, so it never reaches the
    // line handler. No daemon-side submission still frames it (answers and
    // hangs up), so the message is never read as requests.
    const SendLimits limits = submission_ ? submission_->limits() : SendLimits{};
    if (auto send = parse_send_request(request, limits)) {
      if (!submission_) *send = make_error("this daemon does not accept messages on its admin socket");
      if (!*send) {
        log::info("admin.send").kv("uid", static_cast<uint64_t>(c->uid)).kv("ok", false).kv("error", send->error().message);
        std::string line = make_send_answer(send->error()) + "\n";
        Connection::arm(c);
        co_await asio::async_write(c->socket, asio::buffer(line), kUseTuple);
        break;  // the bytes after the line cannot be told apart from a next request
      }
      const SendRequest& accepted = send->value();
      if (!co_await serve_send(c, pending, eof, accepted)) break;
      continue;
    }

    // Named locals, not temporaries in the co_await expression (GCC 12 bug,
    // see app/async_bridge.hpp).
    queue::QueueAdmin& q = queue_;
    const UsersChanged& users_changed = users_changed_;
    auto work = [&q, &users_changed, request = std::move(request)] {
      Answer a;
      a.line = handle_admin_request(request, q, &a.summary, users_changed);
      return a;
    };
    auto op = net::run_blocking(pool_, c->socket.get_executor(), std::move(work));
    Answer answer = co_await std::move(op);
    log_request(answer.summary);
    if (answer.line.empty()) break;
    answer.line += '\n';
    Connection::arm(c);
    auto [wec, wn] = co_await asio::async_write(c->socket, asio::buffer(answer.line), kUseTuple);
    c->timer.cancel();
    if (wec) break;
  }
  asio::error_code ignored;
  c->socket.close(ignored);
  connections_.erase(c);
}

asio::awaitable<bool> AdminServer::serve_send(std::shared_ptr<Connection> c, std::string& pending, bool& eof,
                                              const SendRequest& request) {
  // The message is exactly request.size bytes: what already arrived with
  // the request line, then reads until the count is complete. The size was
  // checked against limits.max_message_size before anything is buffered.
  std::string message;
  const size_t want = static_cast<size_t>(request.size);
  const size_t have = std::min(want, pending.size());
  message.assign(pending, 0, have);
  pending.erase(0, have);
  message.resize(want);
  size_t got = have;
  while (got < want && !eof) {
    Connection::arm(c);
    const size_t step = std::min(kMessageChunkBytes, want - got);
    auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(message.data() + got, step), kUseTuple);
    c->timer.cancel();
    got += n;
    if (ec == asio::error::eof) eof = true;
    else if (ec) co_return false;  // timeout, drain or reset: nobody to answer
  }
  std::string line;
  if (got < want) {
    line = make_send_answer(make_error(concat("message truncated: got ", std::to_string(got), " of ",
                                              std::to_string(want), " bytes")));
    log::info("admin.send").kv("uid", static_cast<uint64_t>(c->uid)).kv("ok", false).kv("error", "truncated");
  } else {
    LocalSubmission& submission = *submission_;
    const uid_t uid = c->uid;
    auto work = [&submission, &request, uid, message = std::move(message)]() mutable {
      Result<std::string> id = submission.submit(request, std::move(message), uid);
      // The answer, and the refusal for the log ("" when queued: the intake logged send.queued).
      return std::make_pair(make_send_answer(id), id ? std::string() : id.error().message);
    };
    auto op = net::run_blocking(pool_, c->socket.get_executor(), std::move(work));
    std::pair<std::string, std::string> done = co_await std::move(op);
    line = std::move(done.first);
    if (!done.second.empty())
      log::info("admin.send").kv("uid", static_cast<uint64_t>(uid)).kv("ok", false).kv("error", done.second);
  }
  line += '\n';
  Connection::arm(c);
  auto [wec, wn] = co_await asio::async_write(c->socket, asio::buffer(line), kUseTuple);
  c->timer.cancel();
  co_return !wec && got == want;
}

}  // namespace volley::admin
