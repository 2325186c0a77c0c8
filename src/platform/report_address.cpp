#include "platform/report_address.hpp"

#include <algorithm>

#include "platform/verp.hpp"
#include "util/strings.hpp"

namespace volley::platform {

const char* report_kind_name(ReportKind k) {
  switch (k) {
    case ReportKind::Bounce: return "bounce";
    case ReportKind::Complaint: return "complaint";
    case ReportKind::Unsubscribe: return "unsubscribe";
    case ReportKind::None: break;
  }
  return "none";
}

ReportKind classify_report_address(const ReportAddressRules& rules, std::string_view address) {
  if (rules.secret.empty()) return ReportKind::None;
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return ReportKind::None;
  const std::string_view local = address.substr(0, at), domain = address.substr(at + 1);
  if (!rules.complaints_address.empty()) {
    const std::string_view c = rules.complaints_address;
    const size_t c_at = c.rfind('@');
    if (c_at != std::string_view::npos && c.substr(0, c_at) == local && iequals(c.substr(c_at + 1), domain))
      return ReportKind::Complaint;
  }
  if (istarts_with(local, "bounces+"))
    return parse_bounce_address(rules.secret, local) ? ReportKind::Bounce : ReportKind::None;
  if (iequals(local, "unsubscribe")) {
    const std::string d = to_lower(domain);
    if (std::find(rules.unsubscribe_domains.begin(), rules.unsubscribe_domains.end(), d) !=
        rules.unsubscribe_domains.end())
      return ReportKind::Unsubscribe;
  }
  return ReportKind::None;
}

}  // namespace volley::platform
