// The Gmail / Yahoo (February 2024) and Microsoft Outlook.com (May 2025)
// bulk-sender requirements, each judged from the doctor's checks: one line
// per rule, PASS or FAIL with the fix of the check that failed it, or INFO
// for what DNS cannot show (per-message and reputation matters).
#pragma once

#include <string>
#include <vector>

#include "doctor/checks.hpp"

namespace volley::doctor {

struct Report {
  std::string domain;
  std::vector<std::string> notes;  // what was checked against (resolver, sending addresses)
  std::vector<Finding> checks;
  std::vector<Finding> rules;
  // Every check and rule passed (INFO lines never fail a run).
  bool passed() const;
};

// `delivery_tls` is delivery.tls ("opportunistic" | "required" | "none");
// `reverse_dns_confirmed`: every sending address has forward-confirmed
// reverse DNS (whatever the name), false when none is known.
std::vector<Finding> bulk_sender_rules(const std::vector<Finding>& checks, bool reverse_dns_confirmed,
                                       const std::string& delivery_tls);

}  // namespace volley::doctor
