#include "delivery/maildir_target.hpp"

#include "mailbox/maildir.hpp"

namespace volley::delivery {
namespace {

class MaildirDelivery final : public Delivery {
 public:
  MaildirDelivery(const std::string& root, const std::string& hostname, FileSystem& fs, std::string sender,
                  std::string folder, mailbox::MailboxQuota* quota, uint64_t content_size)
      : root_(root),
        hostname_(hostname),
        fs_(fs),
        sender_(std::move(sender)),
        folder_(std::move(folder)),
        quota_(quota),
        content_size_(content_size) {}
  ~MaildirDelivery() override { abort(); }

  Result<void> add_rcpt(const queue::Recipient& rcpt) override {
    auto dir = mailbox::maildir_for(root_, rcpt.address);
    // An address that cannot be a mailbox never becomes one: permanent.
    if (!dir) return make_error(ErrorCode::Invalid, "invalid local mailbox name: " + dir.error().message);
    // The envelope's folder (Junk for a DMARC quarantine). A name this
    // version cannot use still delivers, into INBOX: filing is advice, the
    // message must not be lost over it.
    if (quota_) {
      // Folders count against the mailbox's one quota (Maildir++).
      const uint64_t size = mailbox::delivery_headers(sender_, rcpt.address).size() + content_size_;
      if (auto room = quota_->reserve(rcpt.address, size); !room) return room.error();
    }
    auto in_folder = mailbox::folder_maildir(*dir, folder_);
    rcpts_.push_back(Rcpt{rcpt.address, in_folder ? std::move(*in_folder) : std::move(*dir)});
    return {};
  }

  Result<void> body(std::string_view content) override {
    for (const auto& r : rcpts_) {
      auto staged = mailbox::stage(fs_, r.maildir, mailbox::delivery_headers(sender_, r.address), content, hostname_);
      if (!staged) return make_error(staged.error().code, "maildir delivery failed: " + staged.error().message);
      staged_.push_back(std::move(*staged));
    }
    return {};
  }

  Result<void> commit() override {
    // Held from before the renames until the deltas are appended, so that a
    // quota recount cannot count a message twice (mailbox_quota.hpp).
    mailbox::UsageLock accounting;
    if (quota_) {
      std::vector<std::string> addresses;
      addresses.reserve(rcpts_.size());
      for (const auto& r : rcpts_) addresses.push_back(r.address);
      accounting = quota_->lock_usage(addresses);
    }
    for (size_t i = 0; i < staged_.size(); ++i) {
      auto published = mailbox::publish(fs_, staged_[i]);
      if (published) {
        published_.push_back(published->path);
        sizes_.push_back(published->size);
        continue;
      }
      // All or nothing for the recipients of this delivery: the rest is
      // deferred, so take back what is already in new/ (best effort; a
      // reader may have taken it: at-least-once allows the duplicate).
      for (const auto& path : published_) (void)fs_.unlink(path);
      published_.clear();
      sizes_.clear();
      staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(i + 1));
      return make_error(published.error().code, "maildir delivery failed: " + published.error().message);
    }
    staged_.clear();
    if (quota_)
      for (size_t i = 0; i < sizes_.size(); ++i) quota_->add(accounting, rcpts_[i].address, static_cast<int64_t>(sizes_[i]), 1);
    return {};
  }

  void abort() override {
    for (const auto& f : staged_) mailbox::discard(fs_, f);
    staged_.clear();
  }

 private:
  struct Rcpt {
    std::string address;
    std::string maildir;
  };
  const std::string& root_;
  const std::string& hostname_;
  FileSystem& fs_;
  std::string sender_;
  std::string folder_;
  mailbox::MailboxQuota* quota_;
  uint64_t content_size_;
  std::vector<Rcpt> rcpts_;
  std::vector<mailbox::StagedFile> staged_;
  std::vector<std::string> published_;
  std::vector<uint64_t> sizes_;  // of published_, for the quota usage
};

}  // namespace

Result<std::unique_ptr<Delivery>> MaildirTarget::start(const queue::Envelope& env, uint64_t content_size) {
  return std::unique_ptr<Delivery>(
      std::make_unique<MaildirDelivery>(mail_root_, hostname_, fs_, env.sender, env.folder, quota_, content_size));
}

}  // namespace volley::delivery
