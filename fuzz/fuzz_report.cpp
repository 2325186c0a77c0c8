// libFuzzer target: parse_arf and parse_dsn (GMime underneath) on arbitrary
// bytes. Beyond "no crash, no UB": every bound the contract states holds.
#include <cstdint>
#include <string_view>

#include "platform/limits.hpp"
#include "platform/reports.hpp"

#include "fuzz_check.hpp"

using namespace volley::platform;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto r = parse_arf(in); r.ok()) {
    CHECK(!r->feedback_type.empty());
    CHECK(r->original_mail_from.size() <= kMaxReportFieldBytes);
    CHECK(r->original.volley_headers.size() <= 16);
  }
  if (auto r = parse_dsn(in); r.ok()) {
    CHECK(!r->recipients.empty() && r->recipients.size() <= kMaxDsnRecipients);
    for (const auto& s : r->recipients) CHECK(s.diagnostic_code.size() <= kMaxReportFieldBytes);
  }
  (void)parse_field_blocks(in, 4);
  return 0;
}
