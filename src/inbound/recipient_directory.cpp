#include "inbound/recipient_directory.hpp"

#include <algorithm>

#include "util/strings.hpp"

namespace volley::inbound {

namespace {
std::string_view domain_of(std::string_view address) { return address.substr(address.rfind('@') + 1); }
}  // namespace

RecipientDirectory::RecipientDirectory(const config::Config& cfg, const auth::UserDirectory& users,
                                       mailbox::MailboxQuota* quota, std::string_view platform_secret)
    : cfg_(cfg), users_(users), quota_(quota) {
  report_rules_.secret = std::string(platform_secret);
  report_rules_.complaints_address = cfg_.api.complaints_address;
  report_rules_.unsubscribe_domains = cfg_.local_domains;
  for (const auto& k : cfg_.dkim) report_rules_.unsubscribe_domains.push_back(to_lower(k.domain));
  for (const auto& [alias, targets] : cfg_.aliases)
    for (const auto& t : targets)
      if (auto user = auth::normalize_address(t)) aliases_of_[*user].push_back(alias);
}

Result<void> RecipientDirectory::check_sender(const std::string& auth_user, const smtp::Mailbox& sender) const {
  using config::SenderLoginMatch;
  if (cfg_.sender_login_match == SenderLoginMatch::Any) return {};
  const std::string key = sender.lookup_key();
  const bool by_domain = cfg_.sender_login_match == SenderLoginMatch::Domain && !sender.domain_is_literal();
  auto matches = [&](const std::string& owned) {
    return owned == key || (by_domain && domain_of(owned) == domain_of(key));
  };
  if (matches(auth_user)) return {};
  if (auto it = aliases_of_.find(auth_user); it != aliases_of_.end())
    for (const auto& alias : it->second)
      if (matches(alias)) return {};
  return make_error(ErrorCode::Permanent, "sender not owned by the authenticated user");
}

smtp::Directory::Room RecipientDirectory::mailbox_room(const std::string& target, uint64_t declared_size) const {
  if (!quota_) return Room::Ok;
  switch (quota_->check_rcpt(target, declared_size)) {
    case mailbox::Room::Ok: return Room::Ok;
    case mailbox::Room::Full: return Room::Full;
    case mailbox::Room::TooBig: return Room::TooBig;
  }
  return Room::Ok;
}

bool RecipientDirectory::is_local_domain(const std::string& domain_lower) const {
  return std::find(cfg_.local_domains.begin(), cfg_.local_domains.end(), domain_lower) != cfg_.local_domains.end();
}

Result<std::vector<std::string>> RecipientDirectory::local_targets(const std::string& address_lower) const {
  if (auto it = cfg_.aliases.find(address_lower); it != cfg_.aliases.end()) {
    // Local targets take the one normalisation users have ("Alice@local"
    // is the user alice@local); remote ones keep their local part's case.
    std::vector<std::string> targets = it->second;
    for (auto& t : targets)
      if (is_local_domain(std::string(domain_of(t))))
        if (auto key = auth::normalize_address(t)) t = *key;
    return targets;
  }
  // RFC 5321 4.5.1: every local domain accepts postmaster; without an alias
  // it is a mailbox of its own (whether or not the users can be read now).
  auto at = address_lower.rfind('@');
  if (at == 10 && address_lower.compare(0, at, "postmaster") == 0) return std::vector<std::string>{address_lower};
  auto user = users_.find(address_lower);
  if (!user) return user.error();  // NotFound, or temporary: the caller tells them apart
  return std::vector<std::string>{user->address};
}

platform::ReportKind RecipientDirectory::report_kind(std::string_view address) const {
  const platform::ReportKind kind = platform::classify_report_address(report_rules_, address);
  if (kind != platform::ReportKind::Unsubscribe) return kind;
  // A real mailbox of that name is someone's: it gets the mail.
  const std::string key = to_lower(address);
  if (cfg_.aliases.count(key)) return platform::ReportKind::None;
  if (!is_local_domain(std::string(domain_of(key)))) return kind;
  auto user = users_.find(key);
  if (user || user.error().code != ErrorCode::NotFound) return platform::ReportKind::None;
  return kind;
}

bool RecipientDirectory::consumes(const smtp::Mailbox& mb) const {
  return report_kind(mb.to_string()) != platform::ReportKind::None;
}

std::string RecipientDirectory::postmaster() const {
  if (cfg_.local_domains.empty()) return "postmaster@" + to_lower(cfg_.server.hostname);
  return "postmaster@" + cfg_.local_domains.front();
}

bool RecipientDirectory::relay_allowed(const net::IpAddress& client) const {
  for (const auto& net : cfg_.relay_networks)
    if (net.contains(client)) return true;
  return false;
}

}  // namespace volley::inbound
