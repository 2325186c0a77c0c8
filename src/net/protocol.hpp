// What the connection runner needs from a protocol (SMTP now; POP3, IMAP and
// HTTP next). A protocol is a sans-I/O session behind a small interface:
// bytes in -> output plus the next step (read, start TLS, close, or
// protocol-specific async work such as a password check or a spool commit,
// which the protocol's adapter carries out in work()). Everything about
// sockets, TLS, deadlines, limits, drain and connect/disconnect logging is the
// runner's (connection_runner.hpp), written once.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/cidr.hpp"
#include "net/peer.hpp"
#include "net/request_deadline.hpp"

namespace volley::net {

struct TlsInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;
};

enum class Step {
  Read,      // flush output, read more input, call receive()
  StartTls,  // flush output, handshake, call tls_started() (close on failure)
  Work,      // flush output, co_await work()
  Close,     // flush output, close
};

// Why the runner ends a session that did not end itself; the session writes
// its goodbye (SMTP: 421 with 4.4.2 / 4.3.2) and moves to Step::Close.
enum class Ending {
  Timeout,   // a request deadline passed
  Shutdown,  // the server drains (SIGTERM) and the session is idle
  Lifetime,  // limits.max_connection_lifetime reached, at a request boundary
};

// One connection's protocol session. All calls come from the connection's
// thread, one at a time.
class Session {
 public:
  virtual ~Session() = default;
  virtual void start() = 0;  // the greeting, after an implicit-TLS handshake
  virtual void receive(std::string_view bytes) = 0;
  virtual Step next() = 0;
  virtual std::string take_output() = 0;  // "" when nothing to send
  // How long the runner holds the output just taken before writing it: a
  // protocol's tarpit for clients that keep erring (SMTP's error delay).
  // Zero by default; taking it resets it.
  virtual std::chrono::milliseconds take_reply_delay() { return std::chrono::milliseconds(0); }
  virtual void tls_started(const TlsInfo& info) = 0;
  // Step::Work: the protocol's async work (on `ex`, the connection's
  // executor); request deadlines do not run meanwhile.
  virtual asio::awaitable<void> work(asio::any_io_executor ex) = 0;
  virtual void end(Ending why) = 0;
  virtual void connection_lost() = 0;  // the peer went away: abandon everything
  // Waiting for a new request with nothing buffered: safe to end.
  virtual bool idle() const = 0;
  // Counts completed requests; when it changes the runner starts the next
  // request's deadline with timing().
  virtual uint64_t progress() const = 0;
  virtual RequestTiming timing() const = 0;
};

enum class Refusal { Total, PerIp, ShuttingDown };

// The per-connection part of a listener's configuration, fixed at accept
// (a SIGHUP later does not change a running connection's rules).
struct Opened {
  std::unique_ptr<Session> session;
  std::shared_ptr<asio::ssl::context> tls;   // null: no TLS on this listener
  std::chrono::milliseconds io_timeout{0};   // a TLS handshake, a reply write
  std::chrono::milliseconds max_lifetime{0}; // 0: unlimited
};

// One per listener: makes sessions for accepted clients and names the
// protocol in logs. Called from the accepting thread (open() may be called
// from any I/O thread); implementations must be thread-safe for that.
class Service {
 public:
  virtual ~Service() = default;
  virtual const std::string& protocol() const = 0;   // "smtp": log events are "smtp.connect" ...
  virtual const std::string& listener() const = 0;   // listener name, for logs
  virtual bool implicit_tls() const = 0;
  // Written with one non-blocking write to a client refused at accept (never
  // on an implicit-TLS listener: that client cannot read clear text). "" to
  // just close. SMTP: "421 4.7.0 ..."; POP3 will answer "-ERR ...".
  virtual std::string refusal(Refusal why) const = 0;
  virtual Opened open(const Peer& peer) = 0;
};

}  // namespace volley::net
