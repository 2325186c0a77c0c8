// Shared by parse_arf and parse_dsn (reports.hpp): the bounded GMime walk
// over a multipart/report and reading the original message's headers.
#pragma once

#include <string>
#include <string_view>

#include "platform/gmime_support.hpp"
#include "platform/reports.hpp"
#include "util/result.hpp"

namespace volley::platform::detail {

// The three parts of a multipart/report: the human-readable text, the
// machine-readable status/feedback part, the original (optional).
struct ReportParts {
  GPtr<GMimeMessage> message;  // owns everything below
  std::string machine_readable;  // decoded content of the second part
  GMimeObject* original = nullptr;  // message/rfc822 or text/rfc822-headers part, or null
};

// Parses `bytes` as a multipart/report whose report-type is `report_type`
// and whose machine-readable part is one of `machine_types` ("message/
// delivery-status", ...). Checks every bound first.
Result<ReportParts> open_report(std::string_view bytes, std::string_view report_type,
                                std::initializer_list<std::string_view> machine_types);

// The original message's headers from a message/rfc822 or
// text/rfc822-headers part.
OriginalHeaders read_original(GMimeObject* part);

// "rfc822; a@b.example" or "<a@b.example>" -> "a@b.example".
std::string strip_address(std::string_view value);
// The local part of `address` when it starts with "bounces+", else "".
std::string verp_local_part_of(std::string_view address);
// The value of `name` in a field block, or "".
std::string field(const FieldBlock& block, std::string_view name);

}  // namespace volley::platform::detail
