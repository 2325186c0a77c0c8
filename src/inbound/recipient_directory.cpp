#include "inbound/recipient_directory.hpp"

#include <algorithm>

#include "util/strings.hpp"

namespace volley::inbound {

bool RecipientDirectory::is_local_domain(const std::string& domain_lower) const {
  return std::find(cfg_.local_domains.begin(), cfg_.local_domains.end(), domain_lower) != cfg_.local_domains.end();
}

Result<std::vector<std::string>> RecipientDirectory::local_targets(const std::string& address_lower) const {
  if (auto it = cfg_.aliases.find(address_lower); it != cfg_.aliases.end()) return it->second;
  // RFC 5321 4.5.1: every local domain accepts postmaster; without an alias
  // it is a mailbox of its own (whether or not the users can be read now).
  auto at = address_lower.rfind('@');
  if (at == 10 && address_lower.compare(0, at, "postmaster") == 0) return std::vector<std::string>{address_lower};
  auto user = users_.find(address_lower);
  if (!user) return user.error();  // NotFound, or temporary: the caller tells them apart
  return std::vector<std::string>{user->address};
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
