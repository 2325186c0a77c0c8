// What the inbound stage needs from the rest of the daemon, and nothing more:
// the configuration snapshot (with the recipient directory and the
// authenticator), the spool, the hand-off to delivery, and pools for
// blocking work. app::Runtime implements it;
// the dependency flows app -> inbound -> net, never back.
#pragma once

#include <asio/ssl/context.hpp>
#include <asio/thread_pool.hpp>
#include <memory>

#include "config/config.hpp"
#include "inbound/authenticator.hpp"
#include "inbound/dkim_signing.hpp"
#include "inbound/sender_checks.hpp"
#include "inbound/recipient_directory.hpp"
#include "queue/spool.hpp"

namespace volley::inbound {

// One immutable view of the configuration; connections keep the snapshot
// they started with, so a reload never changes rules under a transaction.
struct Snapshot {
  config::Config cfg;
  std::shared_ptr<asio::ssl::context> tls;  // null when no listener needs TLS
  std::unique_ptr<RecipientDirectory> directory;
  std::unique_ptr<Authenticator> authenticator;  // password checks and the AUTH failure budget
  std::unique_ptr<DkimSigning> signer;            // null when no [[dkim]] is configured
  std::unique_ptr<SenderAuthChecks> checks;       // null when every [inbound] check is off
};

class Intake {
 public:
  virtual ~Intake() = default;
  // The current snapshot (swapped whole on SIGHUP). Thread-safe.
  virtual std::shared_ptr<const Snapshot> snapshot() const = 0;
  virtual queue::Spool& spool() = 0;
  // A message the intake just committed (durable): hand it to delivery with its body.
  virtual void queued(std::shared_ptr<const queue::Message> m) = 0;
  // A large message committed with its body in a body file (not in memory).
  virtual void queued_stored(const std::string& id) = 0;
  // For work that blocks (password hashing): never on an I/O thread.
  virtual asio::thread_pool& blocking_pool() = 0;
  // Sessions' disk work: large messages' body writes and syncs (SMTP), and
  // POP3's maildrop opens, message reads and commits. Off the I/O threads
  // and apart from password checks.
  virtual asio::thread_pool& spill_pool() = 0;
};

}  // namespace volley::inbound
