// The addresses the sending platform receives mail at (reports that come
// back, docs/operations.md "Mail that comes back"):
//   bounces+<id>-<index>-<mac>@ANY   VERP return paths (verp.hpp) whose MAC verifies: DSNs
//   api.complaints_address          ARF feedback-loop reports (local part exact, domain any case)
//   unsubscribe@D                   mailto: List-Unsubscribe, D a local or [[dkim]] domain
// Pure: whether a real user or alias of that name exists (they win over
// unsubscribe@) is the recipient directory's question, not this one's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace volley::platform {

enum class ReportKind { None, Bounce, Complaint, Unsubscribe };

const char* report_kind_name(ReportKind k);  // "none", "bounce", "complaint", "unsubscribe"

struct ReportAddressRules {
  std::string secret;                            // the platform's 32-byte secret ("" = no platform: nothing matches)
  std::string complaints_address;                // api.complaints_address ("" = none)
  std::vector<std::string> unsubscribe_domains;  // lower case: local domains and [[dkim]] domains
};

// What `address` (an addr-spec as given at RCPT or kept in the queue) is to
// the platform. A bounces+ address with a bad MAC is None: it gets the answer
// any other address would.
ReportKind classify_report_address(const ReportAddressRules& rules, std::string_view address);

}  // namespace volley::platform
