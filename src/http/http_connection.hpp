// HTTP on the connection runner: net::Service for an http [[listener]] and
// the adapter around http::Session (the sans-I/O state machine). Handlers
// run on the disk-work pool (Intake::spill_pool): they touch SQLite and the
// spool, and must never block an I/O thread; routing, key checks and rate
// limits are in-memory and run on the I/O thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "http/dispatcher.hpp"
#include "inbound/intake.hpp"
#include "net/protocol.hpp"

namespace volley::http {

class HttpService final : public net::Service {
 public:
  // `draining`: whether the server is draining (requests then get 503).
  HttpService(config::Listener listener, std::shared_ptr<inbound::Intake> intake, std::shared_ptr<const Api> api,
              std::function<bool()> draining);
  const std::string& protocol() const override { return protocol_; }
  const std::string& listener() const override { return listener_.name; }
  bool implicit_tls() const override { return listener_.tls == config::TlsMode::Implicit; }
  std::string refusal(net::Refusal why) const override;
  net::Opened open(const net::Peer& peer) override;

 private:
  const std::string protocol_ = "http";
  config::Listener listener_;
  std::shared_ptr<inbound::Intake> intake_;
  std::shared_ptr<const Api> api_;
  std::function<bool()> draining_;
};

}  // namespace volley::http
