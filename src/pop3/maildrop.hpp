// What a POP3 session needs from the mailbox store (RFC 1939's "maildrop"):
// a numbered snapshot of the messages taken when the session enters the
// TRANSACTION state, their bytes on demand, and one commit at QUIT. The POP3
// session is written against this interface (tests use a fake); the store
// (src/mailbox) implements it in src/pop3/store_maildrop.*.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace volley::pop3 {

struct MaildropEntry {
  // Octets RETR sends before dot-stuffing: the message with CRLF line endings
  // (Maildir's W= "virtual size"), which is what LIST and STAT report.
  uint64_t size = 0;
};

// A message's bytes, read piece by piece so a large message is never held
// whole. Yields exactly entry.size octets with CRLF line endings (a stored
// bare LF is returned as CRLF), not dot-stuffed.
class MessageReader {
 public:
  virtual ~MessageReader() = default;
  // Fills up to `max` bytes into `out` (replacing its contents); an empty
  // `out` with success means the end of the message.
  virtual Result<void> read(std::string& out, size_t max) = 0;
};

// One open mailbox, exclusively held by one POP3 session until destroyed
// (destruction releases the lock; nothing is changed without commit()).
// Calls may block on disk: the session runs them off the I/O threads.
class Maildrop {
 public:
  virtual ~Maildrop() = default;
  // Messages numbered 1..n as entries()[0..n-1]; fixed for the session
  // (mail delivered meanwhile appears in the next session).
  virtual const std::vector<MaildropEntry>& entries() const = 0;
  // The message's unique-id listing (RFC 1939 7): 1..70 characters
  // 0x21..0x7E, unique and stable across sessions and restarts. The store
  // gives Dovecot's default pop3_uidl_format "%08Xu%08Xv" (IMAP UID, then
  // UIDVALIDITY, each 8 lower-case hex digits, as Dovecot 2.3 prints them),
  // so a mailbox moved between Volley and Dovecot keeps its UIDLs. Made on
  // demand rather than held: a session of 10,000 messages would otherwise
  // keep 10,000 heap strings. index is 0-based into entries().
  virtual std::string uidl(size_t index) const = 0;
  // index is 0-based into entries().
  virtual Result<std::unique_ptr<MessageReader>> open_message(size_t index) = 0;
  // The UPDATE state (RFC 1939 6): removes `deleted` and marks `retrieved`
  // (RETR'd; not TOP'd, as in Dovecot) messages seen (Dovecot: S flag, in cur/). Durable when
  // it returns success; on error nothing or part was applied and the session
  // answers -ERR (RFC 1939: "some deleted messages not removed").
  virtual Result<void> commit(const std::vector<size_t>& deleted, const std::vector<size_t>& retrieved) = 0;
};

class MaildropOpener {
 public:
  virtual ~MaildropOpener() = default;
  // Opens the mailbox (INBOX) of an authenticated user ("user@domain", as the
  // user directory names it). ErrorCode::Busy: another session holds it
  // (-ERR [IN-USE]); other errors are temporary (-ERR [SYS/TEMP]).
  virtual Result<std::unique_ptr<Maildrop>> open(std::string_view user) = 0;
};

}  // namespace volley::pop3
