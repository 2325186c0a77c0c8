// `volley doctor`'s output: text for people (one line per check and rule,
// the fix indented under a FAIL), or one JSON object for machines:
//   {"domain", "notes": [...], "checks": [{name, status, detail, fix}],
//    "rules": [{name, status, detail, fix}], "overall": "pass" | "fail"}
// status is "pass" | "fail" | "info". Text from DNS is untrusted: the text
// form escapes control bytes, the JSON form is escaped by the JSON writer.
#pragma once

#include <string>

#include "doctor/rules.hpp"

namespace volley::doctor {

std::string render_text(const Report& report);
std::string render_json(const Report& report);

}  // namespace volley::doctor
