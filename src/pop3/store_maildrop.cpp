// The POP3 maildrop over the Maildir store: Dovecot's POP3 session lock,
// a sync that gives UIDs, the first-session move of new/ to cur/, and the
// QUIT commit (expunge DELE'd messages, mark RETR'd ones seen).
#include "pop3/store_maildrop.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "mailbox/dotlock.hpp"
#include "mailbox/maildir.hpp"
#include "mailbox/maildir_mailbox.hpp"
#include "mailbox/maildir_name.hpp"
#include "util/strings.hpp"

namespace volley::pop3 {
namespace {

// Dovecot's pop3-client.c: "dovecot-pop3-session.lock" in the mailbox root,
// stale after 5 minutes without a refresh (the holder touches it).
constexpr const char* kSessionLockName = "dovecot-pop3-session.lock";
constexpr auto kSessionLockStale = std::chrono::seconds(300);
// Touch the lock this often (on any call), well inside the stale time.
constexpr auto kSessionLockRefresh = std::chrono::seconds(60);

std::string uidl_of(uint32_t uid, uint32_t uidvalidity) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", uid, uidvalidity);
  return buf;
}

class StoreMessageReader final : public MessageReader {
 public:
  explicit StoreMessageReader(std::unique_ptr<mailbox::CrlfMessageReader> inner) : inner_(std::move(inner)) {}
  Result<void> read(std::string& out, size_t max) override { return inner_->read(out, max); }

 private:
  std::unique_ptr<mailbox::CrlfMessageReader> inner_;
};

class StoreMaildrop final : public Maildrop {
 public:
  StoreMaildrop(std::unique_ptr<mailbox::MaildirMailbox> box, std::unique_ptr<mailbox::Dotlock> lock,
                std::vector<mailbox::MessageFile> messages, uint32_t uidvalidity, std::string user,
                mailbox::MailboxQuota* quota)
      : box_(std::move(box)),
        lock_(std::move(lock)),
        uidvalidity_(uidvalidity),
        user_(std::move(user)),
        quota_(quota) {
    entries_.reserve(messages.size());
    held_.reserve(messages.size());
    size_t name_bytes = 0;
    for (const auto& m : messages) name_bytes += m.name.size();
    names_.reserve(name_bytes);
    for (auto& m : messages) {
      entries_.push_back(MaildropEntry{m.vsize.value_or(0)});
      held_.push_back(Held{names_.size(), m.name.size(), m.size, m.uid, m.in_new, m.vsize.has_value()});
      names_.append(m.name);
    }
    messages = {};  // freed before the session starts, not at its end
    last_touch_ = std::chrono::steady_clock::now();
  }

  const std::vector<MaildropEntry>& entries() const override { return entries_; }
  std::string uidl(size_t index) const override { return uidl_of(held_.at(index).uid, uidvalidity_); }

  Result<std::unique_ptr<MessageReader>> open_message(size_t index) override {
    refresh_lock();
    if (index >= held_.size()) return make_error(ErrorCode::Invalid, "no such message");
    mailbox::MessageFile file = file_of(index);
    auto reader = mailbox::open_message(*box_, file);
    if (!reader) return reader.error();
    return std::unique_ptr<MessageReader>(new StoreMessageReader(std::move(*reader)));
  }

  Result<void> commit(const std::vector<size_t>& deleted, const std::vector<size_t>& retrieved) override {
    refresh_lock();
    // From before the first unlink until the delta is appended: a quota
    // recount in between would subtract files it never counted.
    mailbox::UsageLock accounting;
    if (quota_ && !deleted.empty()) accounting = quota_->lock_usage({user_});
    uint64_t freed_bytes = 0;
    uint64_t freed_messages = 0;
    Result<void> outcome;
    for (size_t index : deleted) {
      if (index >= held_.size()) continue;
      mailbox::MessageFile file = file_of(index);
      auto gone = box_->expunge(file);
      if (!gone) {
        outcome = gone.error();
        break;
      }
      if (gone->removed) {
        freed_bytes += gone->bytes;
        ++freed_messages;
      }
    }
    if (outcome) {
      for (size_t index : retrieved) {
        if (index >= held_.size() || std::find(deleted.begin(), deleted.end(), index) != deleted.end()) continue;
        mailbox::MessageFile file = file_of(index);
        auto marked = box_->change_flags(file, std::string(1, mailbox::kFlagSeen));
        // Expunged by another session meanwhile: nothing to mark.
        if (!marked && marked.error().code != ErrorCode::NotFound) {
          outcome = marked.error();
          break;
        }
      }
    }
    // Whatever was applied is made durable and reported, even after an error.
    if (auto synced = box_->sync_dirs(); !synced && outcome) outcome = synced.error();
    if (freed_messages > 0 && quota_)
      quota_->add(accounting, user_, -static_cast<int64_t>(freed_bytes), -static_cast<int64_t>(freed_messages));
    // Forget the expunged UIDs now rather than at the next session's sync.
    if (outcome && freed_messages > 0) (void)box_->sync();
    return outcome;
  }

 private:
  // Dovecot refreshes its session lock on a timer; a session here touches it
  // when the client does something, which POP3's idle timeout keeps frequent.
  void refresh_lock() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_touch_ < kSessionLockRefresh) return;
    last_touch_ = now;
    (void)lock_->touch();
  }

  std::unique_ptr<mailbox::MaildirMailbox> box_;
  std::unique_ptr<mailbox::Dotlock> lock_;
  // What a session keeps per message: ~40 bytes plus its file name in one
  // shared buffer, against ~360 as a MessageFile and a UIDL string (20
  // sessions of 10,000 messages held ~70 MB that way). The base and flags
  // are in the name, the vsize in entries_, the UIDL is made from the UID;
  // file_of() rebuilds the rest.
  struct Held {
    size_t name_at = 0;  // in names_
    size_t name_len = 0;
    std::optional<uint64_t> size;
    uint32_t uid = 0;
    bool in_new = false;
    bool has_vsize = false;
  };
  mailbox::MessageFile file_of(size_t index) const {
    const Held& h = held_[index];
    const std::string_view name(names_.data() + h.name_at, h.name_len);
    mailbox::MaildirName parsed = mailbox::parse_maildir_name(name);
    mailbox::MessageFile m;
    m.uid = h.uid;
    m.base = std::move(parsed.base);
    m.name = std::string(name);
    m.in_new = h.in_new;
    m.flags = std::move(parsed.flags);
    m.size = h.size;
    if (h.has_vsize) m.vsize = entries_[index].size;
    return m;
  }

  uint32_t uidvalidity_ = 0;
  std::vector<Held> held_;
  std::string names_;
  std::vector<MaildropEntry> entries_;
  std::string user_;
  mailbox::MailboxQuota* quota_;
  std::chrono::steady_clock::time_point last_touch_;
};

class StoreMaildropOpener final : public MaildropOpener {
 public:
  StoreMaildropOpener(std::string mail_root, std::string hostname, mailbox::MailboxQuota* quota)
      : mail_root_(std::move(mail_root)), hostname_(std::move(hostname)), quota_(quota) {}

  Result<std::unique_ptr<Maildrop>> open(std::string_view user) override {
    auto path = mailbox::maildir_for(mail_root_, user);
    if (!path) return make_error(ErrorCode::Invalid, path.error().message);
    auto box = std::make_unique<mailbox::MaildirMailbox>(*path);
    // No mail yet: an empty maildrop (the directories are made now).
    if (auto made = box->create(); !made) return made.error();

    mailbox::DotlockOptions lock_options;
    lock_options.stale_after = kSessionLockStale;
    lock_options.hostname = hostname_;
    auto lock = mailbox::Dotlock::acquire(posix_file_system(), concat(*path, "/", kSessionLockName), lock_options);
    if (!lock) {
      if (lock.error().code == ErrorCode::Busy)
        return make_error(ErrorCode::Busy, concat("mailbox of ", user, " is in use by another POP3 session"));
      return lock.error();
    }

    mailbox::SyncOptions sync_options;
    sync_options.want_vsize = true;
    auto view = box->sync(sync_options);
    if (!view) return view.error();

    // Dovecot moves new/ to cur/ (no flags) when a session opens the mailbox.
    bool moved = false;
    for (auto& m : view->messages) {
      if (!m.in_new) continue;
      auto r = box->move_to_cur(m);
      if (!r && r.error().code != ErrorCode::NotFound) return r.error();
      moved = true;
    }
    if (moved)
      if (auto r = box->sync_dirs(); !r) return r.error();

    return std::unique_ptr<Maildrop>(new StoreMaildrop(std::move(box), std::move(*lock), std::move(view->messages),
                                                       view->uidvalidity, std::string(user), quota_));
  }

 private:
  std::string mail_root_;
  std::string hostname_;
  mailbox::MailboxQuota* quota_;
};

}  // namespace

std::unique_ptr<MaildropOpener> make_store_maildrop_opener(std::string mail_root, std::string hostname,
                                                           mailbox::MailboxQuota* quota) {
  return std::make_unique<StoreMaildropOpener>(std::move(mail_root), std::move(hostname), quota);
}

}  // namespace volley::pop3
