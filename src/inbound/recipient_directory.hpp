// smtp::Directory backed by one configuration snapshot (local domains,
// aliases, relay networks) and the in-memory user snapshot (never SQLite).
#pragma once

#include <unordered_map>

#include "auth/user_directory.hpp"
#include "config/config.hpp"
#include "mailbox/mailbox_quota.hpp"
#include "smtp/session.hpp"

namespace volley::inbound {

class RecipientDirectory final : public smtp::Directory {
 public:
  // `quota` may be null (no quota checks at RCPT); it must outlive this.
  RecipientDirectory(const config::Config& cfg, const auth::UserDirectory& users,
                     mailbox::MailboxQuota* quota = nullptr);
  bool is_local_domain(const std::string& domain_lower) const override;
  Result<std::vector<std::string>> local_targets(const std::string& address_lower) const override;
  Result<void> check_sender(const std::string& auth_user, const smtp::Mailbox& sender) const override;
  std::string postmaster() const override;
  bool relay_allowed(const net::IpAddress& client) const override;
  Room mailbox_room(const std::string& target, uint64_t declared_size) const override;

 private:
  const config::Config& cfg_;
  const auth::UserDirectory& users_;
  mailbox::MailboxQuota* quota_;
  // user -> the alias addresses that deliver to it (sender_login_match).
  std::unordered_map<std::string, std::vector<std::string>> aliases_of_;
};

}  // namespace volley::inbound
