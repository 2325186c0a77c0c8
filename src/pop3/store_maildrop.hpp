// The mailbox store (src/mailbox) as a POP3 maildrop: opens a user's INBOX
// under <mail_root>/<domain>/<local> with Dovecot's POP3 session lock, syncs
// it (UIDs from dovecot-uidlist), and applies DELE/RETR at QUIT.
#pragma once

#include <memory>
#include <string>

#include "mailbox/mailbox_quota.hpp"
#include "pop3/maildrop.hpp"

namespace volley::pop3 {

// `hostname` goes into the POP3 lock file ("<pid>:<host>"); "" writes this
// machine's gethostname(), as Dovecot does, so that Dovecot and Volley on one
// machine can each tell by the pid whether the holder is still alive.
// With a `quota` (which must outlive the opener), a commit that removes
// messages appends their negative delta to the mailbox's maildirsize under
// its usage lock, so the usage gives the room back without a rescan.
std::unique_ptr<MaildropOpener> make_store_maildrop_opener(std::string mail_root, std::string hostname,
                                                           mailbox::MailboxQuota* quota = nullptr);

}  // namespace volley::pop3
