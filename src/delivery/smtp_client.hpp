// One outbound SMTP connection (RFC 5321 client side): connect to the first
// reachable endpoint, greeting, EHLO (HELO fallback), STARTTLS per policy,
// AUTH for a smarthost, then any number of transactions (MAIL, RCPTs, DATA;
// pipelined when the server offers PIPELINING), then QUIT.
//
// The protocol pieces are pure (delivery/client_*.hpp); this is the thin I/O
// loop around them. Every wait has a deadline (connect, command, data
// timeouts); a deadline closes the socket, so a silent server costs one
// connection slot for at most that long and never blocks anything else.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delivery/outcome.hpp"
#include "queue/envelope.hpp"
#include "delivery/client_capabilities.hpp"
#include "delivery/client_reply.hpp"
#include "delivery/transport_security.hpp"

namespace volley::delivery {

struct Endpoint {
  std::string host;  // name for logs, SNI and Remote-MTA ("" for an IP literal)
  asio::ip::address address;
  uint16_t port = 25;
  // The receiver's transport-security policy for this host (DANE, MTA-STS);
  // null: none (opportunistic TLS per delivery.tls).
  std::shared_ptr<const PeerPolicy> policy = nullptr;

  // The name a DSN reports as Remote-MTA: the host name, or the address
  // when the route named none (a smarthost or user@[192.0.2.1] given by
  // address). Every route gets one, so every route's DSN has the field.
  std::string mta_name() const { return host.empty() ? address.to_string() : host; }
};

enum class TlsPolicy { Opportunistic, Required, None };
TlsPolicy parse_tls_policy(const std::string& s);

struct ClientSettings {
  std::string helo_name;
  TlsPolicy tls = TlsPolicy::Opportunistic;
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds command_timeout{300000};
  std::chrono::milliseconds data_timeout{600000};
  std::string auth_user, auth_password;  // smarthost AUTH; "" = none
  std::shared_ptr<asio::ssl::context> tls_context;
};

class SmtpClient {
 public:
  SmtpClient(asio::any_io_executor ex, ClientSettings settings);
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  // Tries the endpoints in order until one is ready for MAIL. On failure,
  // failure() says why (deferred, or bounced when a server refused us
  // permanently and nothing else was reachable).
  asio::awaitable<bool> connect(const std::vector<Endpoint>& endpoints, std::vector<asio::ip::address> sources);

  // One transaction for the recipients `rcpts` (indexes into the envelope's
  // recipients). out[k] is the outcome for rcpts[k].
  asio::awaitable<void> send(const queue::Message& m, const std::vector<size_t>& rcpts, std::vector<RcptOutcome>& out);

  asio::awaitable<void> quit();

  bool alive() const { return alive_; }
  // The last reply was a throttling reply (421, 4.7.x): back off.
  bool throttled() const { return throttled_; }
  const RcptOutcome& failure() const { return failure_; }
  const std::string& relay() const { return relay_; }
  const std::string& tls() const { return tls_name_; }
  bool verified() const { return verified_; }
  uint32_t transactions() const { return transactions_; }
  // The last send() failed on a reused connection before the server
  // answered anything of that transaction (it had closed the connection
  // while idle, or was closing it as our MAIL went out). Not a delivery
  // attempt: the caller may retry at once on a fresh connection (Postfix's
  // connection cache does the same).
  bool lost_before_reply() const { return lost_before_reply_; }
  // ... and it was found closed before anything was sent: no retry bound
  // needed, the message never left.
  bool found_stale() const { return found_stale_; }
  // The connection is about to wait in the cache for work. From then on it
  // is a cached connection like one that has carried mail: the receiver may
  // close it while idle, so the next send checks it first and a loss before
  // any reply is not a delivery attempt. (Counting only connections that had
  // carried a transaction missed one opened for a burst that got no job.)
  void mark_idle() { idled_ = true; }

 private:
  asio::awaitable<bool> open_endpoint(const Endpoint& ep, const std::vector<asio::ip::address>& sources, bool use_tls);
  asio::awaitable<bool> greet_and_hello(const Endpoint& ep, bool use_tls);
  asio::awaitable<bool> hello();
  asio::awaitable<bool> start_tls(const Endpoint& ep);
  asio::awaitable<bool> authenticate();
  // Sets up the certificate checks the endpoint's policy asks for (DANE
  // TLSA records, or the host name) before the handshake.
  bool expect_peer(const Endpoint& ep);
  // The receiver's policy on a TLS outcome: true to carry on (logging what
  // MTA-STS testing would have refused), false after failing the connection.
  bool policy_allows(TlsOutcome tls, const std::string& detail);
  bool policy_requires_tls() const;
  void stamp(RcptOutcome& o) const;  // policy and verified
  asio::awaitable<std::optional<ServerReply>> read_reply(std::chrono::milliseconds timeout);
  asio::awaitable<bool> write(std::string_view data, std::chrono::milliseconds timeout);
  asio::awaitable<std::optional<ServerReply>> command(std::string_view line, std::chrono::milliseconds timeout);
  // A cached connection the server has closed (EOF) or spoken on unasked
  // (a 421 while idle) is unusable; checked without blocking before reuse.
  bool idle_connection_usable();
  void arm(std::chrono::milliseconds d);
  void disarm();
  void close();
  // Records why the connection failed (for every recipient still open).
  void fail(Status status, std::string enhanced, std::string reason);
  RcptOutcome from_reply(const ServerReply& r) const;
  std::string io_error(const char* during) const;

  asio::any_io_executor ex_;
  ClientSettings settings_;
  asio::ip::tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  asio::steady_timer timer_;
  uint64_t timer_generation_ = 0;
  bool timed_out_ = false;
  std::string in_;  // bytes read, not yet parsed
  ReplyReader reader_;
  ServerCapabilities caps_;
  std::string host_;  // Remote-MTA name of the current endpoint (Endpoint::mta_name)
  std::string relay_;
  std::string tls_name_ = "none";
  bool alive_ = false;
  bool throttled_ = false;
  bool tls_failed_ = false;
  std::shared_ptr<const PeerPolicy> policy_;  // the current endpoint's
  bool verified_ = false;                     // the current peer's certificate validated  // the last handshake failed (opportunistic: retry in clear)
  uint32_t transactions_ = 0;
  bool idled_ = false;  // mark_idle()
  bool lost_before_reply_ = false;
  bool found_stale_ = false;
  RcptOutcome failure_;
  std::string last_error_;
};

}  // namespace volley::delivery
