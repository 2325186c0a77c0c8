// SMTP on the connection runner: net::Service for an SMTP [[listener]] and
// the adapter around smtp::Session (the sans-I/O state machine). The adapter
// maps the session's actions onto runner steps and carries out the
// SMTP-specific async work itself: the password check off the I/O thread
// with the per-address failure delay, and the spool commit.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "inbound/intake.hpp"
#include "net/connection_runner.hpp"
#include "net/protocol.hpp"

namespace volley::inbound {

class SmtpService final : public net::Service {
 public:
  SmtpService(config::Listener listener, std::shared_ptr<Intake> intake);
  const std::string& protocol() const override { return protocol_; }
  const std::string& listener() const override { return listener_.name; }
  bool implicit_tls() const override { return listener_.tls == config::TlsMode::Implicit; }
  std::string refusal(net::Refusal why) const override;
  net::Opened open(const net::Peer& peer) override;

 private:
  const std::string protocol_ = "smtp";
  config::Listener listener_;
  std::shared_ptr<Intake> intake_;
};

// The listen(2) parameters of a configured listener.
net::ListenSpec listen_spec(const config::Listener& l, const config::Limits& limits);

}  // namespace volley::inbound
