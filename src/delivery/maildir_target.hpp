// Local delivery as a DeliveryTarget: each recipient's Maildir gets the
// message with its own Return-Path/Delivered-To lines. body() writes and
// syncs one file per recipient in tmp/ (invisible to readers); commit()
// moves them into new/ and syncs new/; abort() removes what body() wrote.
// An envelope with a folder (queue::Envelope::folder, e.g. Junk) is filed
// into that Maildir++ folder of each mailbox (<maildir>/.Junk), created on
// first use.
// With a MailboxQuota, add_rcpt refuses a recipient whose mailbox has no
// room (MailboxFull: deferred; TooBigForMailbox: bounced) and commit()
// records each delivered file in the mailbox's maildirsize.
// All file access goes through a FileSystem (fault injection in tests).
#pragma once

#include <string>

#include "delivery/delivery_target.hpp"
#include "mailbox/mailbox_quota.hpp"
#include "util/file_system.hpp"

namespace volley::delivery {

class MaildirTarget final : public DeliveryTarget {
 public:
  // Mailboxes live in <mail_root>/<domain>/<local>; `hostname` goes into file names.
  // `quota` may be null (no quotas); it must outlive the target.
  MaildirTarget(std::string mail_root, std::string hostname, FileSystem& fs = posix_file_system(),
                mailbox::MailboxQuota* quota = nullptr)
      : mail_root_(std::move(mail_root)), hostname_(std::move(hostname)), fs_(fs), quota_(quota) {}

  std::string name() const override { return "local"; }
  Result<std::unique_ptr<Delivery>> start(const queue::Envelope& env, uint64_t content_size) override;

 private:
  std::string mail_root_;
  std::string hostname_;
  FileSystem& fs_;
  mailbox::MailboxQuota* quota_;
};

}  // namespace volley::delivery
