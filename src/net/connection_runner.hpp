// The one connection runner every protocol uses (Boost.Beast's listen ->
// run_session shape): accept, the total and per-address limits, implicit TLS
// or STARTTLS, per-request deadlines, the connection lifetime, drain on
// SIGTERM, and one connect/disconnect log line per connection. The protocol
// itself is a sans-I/O net::Session behind net::Service (protocol.hpp).
//
// Threads: each listener has one acceptor on the first io_context; accepted
// sockets are spread round-robin over all io_contexts (one per core), each
// connection then living on one thread, one coroutine plus a watchdog.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "net/connection_table.hpp"
#include "net/protocol.hpp"
#include "util/result.hpp"

namespace volley::net {

class IoContexts {
 public:
  explicit IoContexts(unsigned n);
  asio::io_context& at(size_t i) { return *contexts_[i]; }
  asio::io_context& next();  // round-robin, called from the accepting thread only
  size_t size() const { return contexts_.size(); }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  size_t next_ = 0;
};

struct ListenSpec {
  std::string name;     // for error messages
  std::string address;  // as configured, for error messages
  std::string host;     // an IP address
  uint16_t port = 0;
  int backlog = 0;      // listen(2) backlog
};

// Opens, binds and listens (errors name the listener and address).
Result<std::unique_ptr<asio::ip::tcp::acceptor>> open_acceptor(asio::io_context& ctx, const ListenSpec& spec);

// Accepts until the acceptor is closed. Clients over a limit, or arriving
// during a drain, get the service's refusal in one non-blocking write and are
// closed: refusing costs almost nothing.
asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, std::shared_ptr<Service> service,
                                  std::shared_ptr<ConnectionTable> table, IoContexts& contexts);

}  // namespace volley::net
