#include "dmarc/policy_discovery.hpp"

#include "dmarc/dmarc_record.hpp"
#include "util/strings.hpp"

namespace volley::dmarc {

std::optional<PolicyLookup> policy_at(const std::string& domain, const delivery::TxtAnswer& txt) {
  using delivery::DnsStatus;
  PolicyLookup l;
  if (txt.status == DnsStatus::TempFail) {
    l.kind = PolicyLookup::Kind::TempFail;
    l.domain = domain;
    l.detail = txt.detail;
    return l;
  }
  if (txt.status != DnsStatus::Ok) return std::nullopt;
  auto selected = select_dmarc_record(txt.records);
  if (!selected) {
    l.kind = PolicyLookup::Kind::PermError;
    l.domain = domain;
    l.detail = concat("the record at _dmarc.", domain, " does not parse: ", selected.error().message);
    return l;
  }
  if (!selected.value()) return std::nullopt;
  l.kind = PolicyLookup::Kind::Found;
  l.record = *selected.value();
  l.domain = domain;
  return l;
}

PolicyLookup discover_policy(const std::string& domain, const delivery::TxtAnswer& domain_txt, const std::string& org,
                             const std::optional<delivery::TxtAnswer>& org_txt) {
  if (auto l = policy_at(domain, domain_txt)) return *l;
  if (!org.empty() && org != domain && org_txt)
    if (auto l = policy_at(org, *org_txt)) return *l;
  return {};
}

}  // namespace volley::dmarc
