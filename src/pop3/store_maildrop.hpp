// The mailbox store (src/mailbox) as a POP3 maildrop: opens a user's INBOX
// under <mail_root>/<domain>/<local> with Dovecot's POP3 session lock, syncs
// it (UIDs from dovecot-uidlist), and applies DELE/RETR at QUIT.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "pop3/maildrop.hpp"

namespace volley::pop3 {

// Told after a commit removed messages, so the quota usage (maildirsize)
// stays right without a rescan: bytes and messages freed in the mailbox of
// `user` (the address open() was given).
using UsageFreed = std::function<void(const std::string& user, uint64_t bytes, uint64_t messages)>;

// `hostname` goes into the POP3 lock file ("<pid>:<host>"); "" writes this
// machine's gethostname(), as Dovecot does, so that Dovecot and Volley on one
// machine can each tell by the pid whether the holder is still alive.
std::unique_ptr<MaildropOpener> make_store_maildrop_opener(std::string mail_root, std::string hostname,
                                                           UsageFreed on_freed = {});

}  // namespace volley::pop3
