// libFuzzer target: classify_report_address (platform/report_address) on
// arbitrary RCPT addresses, with a fixed secret and configuration. Beyond
// "no crash, no UB": each kind is what its rule says (complaints address:
// the local part exactly, the domain any case; bounces+: a MAC that
// verifies; unsubscribe@ a listed domain), the domain's case never changes
// the answer, and without a secret nothing is a report address.
#include <cstdint>
#include <string>
#include <string_view>

#include "platform/report_address.hpp"
#include "platform/verp.hpp"
#include "util/strings.hpp"

#include "fuzz_check.hpp"

using namespace volley::platform;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The secret of fuzz_verp, so its seeds (with "@domain") reach the MAC check.
  static const ReportAddressRules rules{std::string(32, 's'), "fbl@local.test", {"local.test", "brand.test"}};
  static const ReportAddressRules no_platform{"", "fbl@local.test", {"local.test"}};
  const std::string_view address(reinterpret_cast<const char*>(data), size);

  const ReportKind kind = classify_report_address(rules, address);
  CHECK(classify_report_address(no_platform, address) == ReportKind::None);
  if (kind == ReportKind::None) return 0;
  const size_t at = address.rfind('@');
  CHECK(at != std::string_view::npos && at > 0 && at + 1 < address.size());
  const std::string_view local = address.substr(0, at), domain = address.substr(at + 1);
  switch (kind) {
    case ReportKind::Complaint:
      CHECK(local == "fbl" && volley::iequals(domain, "local.test"));
      break;
    case ReportKind::Bounce:
      CHECK(volley::istarts_with(local, "bounces+") && parse_bounce_address(rules.secret, local).ok());
      // Receivers may change the case of a return path.
      CHECK(classify_report_address(rules, volley::to_upper(address)) == ReportKind::Bounce);
      CHECK(classify_report_address(rules, volley::to_lower(address)) == ReportKind::Bounce);
      break;
    case ReportKind::Unsubscribe:
      CHECK(volley::iequals(local, "unsubscribe"));
      CHECK(volley::iequals(domain, "local.test") || volley::iequals(domain, "brand.test"));
      break;
    case ReportKind::None:
      break;
  }
  const std::string other_case = volley::concat(local, "@", volley::to_upper(domain));
  CHECK(classify_report_address(rules, other_case) == kind);
  return 0;
}
