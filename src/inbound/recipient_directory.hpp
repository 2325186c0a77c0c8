// smtp::Directory backed by one configuration snapshot (local domains,
// aliases, relay networks) and the in-memory user snapshot (never SQLite).
#pragma once

#include <unordered_map>

#include "auth/user_directory.hpp"
#include "config/config.hpp"
#include "mailbox/mailbox_quota.hpp"
#include "platform/report_address.hpp"
#include "smtp/session.hpp"

namespace volley::inbound {

class RecipientDirectory final : public smtp::Directory {
 public:
  // `quota` may be null (no quota checks at RCPT); it must outlive this.
  // `platform_secret`: the sending platform's secret (verifies VERP
  // addresses); "" = no report addresses at all.
  RecipientDirectory(const config::Config& cfg, const auth::UserDirectory& users,
                     mailbox::MailboxQuota* quota = nullptr, std::string_view platform_secret = {});
  bool is_local_domain(const std::string& domain_lower) const override;
  Result<std::vector<std::string>> local_targets(const std::string& address_lower) const override;
  Result<void> check_sender(const std::string& auth_user, const smtp::Mailbox& sender) const override;
  std::string postmaster() const override;
  bool relay_allowed(const net::IpAddress& client) const override;
  Room mailbox_room(const std::string& target, uint64_t declared_size) const override;
  bool consumes(const smtp::Mailbox& mb) const override;

  // What `address` is to the sending platform (report_address.hpp), with
  // real users and aliases winning over unsubscribe@: the one answer for
  // both RCPT (consumes) and the delivery engine (which recipients go to the
  // report target). A user lookup that fails for now is not a report
  // address (RCPT then answers 451 on the local path).
  platform::ReportKind report_kind(std::string_view address) const;

 private:
  const config::Config& cfg_;
  const auth::UserDirectory& users_;
  mailbox::MailboxQuota* quota_;
  platform::ReportAddressRules report_rules_;
  // user -> the alias addresses that deliver to it (sender_login_match).
  std::unordered_map<std::string, std::vector<std::string>> aliases_of_;
};

}  // namespace volley::inbound
