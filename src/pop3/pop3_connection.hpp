// POP3 on the connection runner: net::Service for a pop3 [[listener]] and
// the adapter around pop3::Session (the sans-I/O state machine). The adapter
// maps the session's actions onto runner steps and does the blocking work
// off the I/O thread, as SMTP does: the password check (with the shared
// per-address failure delay) on the blocking pool; opening the maildrop,
// reading a message piece by piece, the commit at QUIT and releasing the
// maildrop's lock on the disk-work pool (Intake::spill_pool), so logins and
// downloads do not queue behind each other.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "inbound/intake.hpp"
#include "net/protocol.hpp"
#include "pop3/maildrop.hpp"

namespace volley::pop3 {

class Pop3Service final : public net::Service {
 public:
  Pop3Service(config::Listener listener, std::shared_ptr<inbound::Intake> intake,
              std::shared_ptr<MaildropOpener> opener);
  const std::string& protocol() const override { return protocol_; }
  const std::string& listener() const override { return listener_.name; }
  bool implicit_tls() const override { return listener_.tls == config::TlsMode::Implicit; }
  std::string refusal(net::Refusal why) const override;
  net::Opened open(const net::Peer& peer) override;

 private:
  const std::string protocol_ = "pop3";
  config::Listener listener_;
  std::shared_ptr<inbound::Intake> intake_;
  std::shared_ptr<MaildropOpener> opener_;
};

}  // namespace volley::pop3
