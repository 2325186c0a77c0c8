// Local delivery as a DeliveryTarget: each recipient's Maildir gets the
// message with its own Return-Path/Delivered-To lines. body() writes and
// syncs one file per recipient in tmp/ (invisible to readers); commit()
// moves them into new/ and syncs new/; abort() removes what body() wrote.
// An envelope with a folder (queue::Envelope::folder, e.g. Junk) is filed
// into that Maildir++ folder of each mailbox (<maildir>/.Junk), created on
// first use.
// All file access goes through a FileSystem (fault injection in tests).
#pragma once

#include <string>

#include "delivery/delivery_target.hpp"
#include "util/file_system.hpp"

namespace volley::delivery {

class MaildirTarget final : public DeliveryTarget {
 public:
  // Mailboxes live in <mail_root>/<domain>/<local>; `hostname` goes into file names.
  MaildirTarget(std::string mail_root, std::string hostname, FileSystem& fs = posix_file_system())
      : mail_root_(std::move(mail_root)), hostname_(std::move(hostname)), fs_(fs) {}

  std::string name() const override { return "local"; }
  Result<std::unique_ptr<Delivery>> start(const queue::Envelope& env) override;

 private:
  std::string mail_root_;
  std::string hostname_;
  FileSystem& fs_;
};

}  // namespace volley::delivery
