// Accept loops. Each [[listener]] has one acceptor on the first io_context;
// accepted sockets are spread round-robin over all io_contexts (one per
// core), each connection then living on one thread. Connections over the
// total or per-address limit get "421 4.7.0" with the reason and are closed.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <memory>
#include <vector>

#include "app/runtime.hpp"
#include "config/config.hpp"
#include "util/result.hpp"

namespace volley::inbound {
// Shared daemon state lives in app/ for now (the connection runner will give
// inbound a narrow interface of its own).
using app::DrainTarget;
using app::Runtime;
using app::Snapshot;

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

// Opens and binds the socket (errors name the listener and address).
Result<std::unique_ptr<asio::ip::tcp::acceptor>> open_acceptor(asio::io_context& ctx, const config::Listener& l);

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, config::Listener listener,
                                  std::shared_ptr<Runtime> runtime, IoContexts& contexts);

}  // namespace volley::inbound
