// RFC 8058 one-click unsubscribe: whether a POST body says
// "List-Unsubscribe=One-Click". Pure, so the rule is unit-tested and fuzzed
// (fuzz/fuzz_one_click.cpp) apart from the HTTP route (api_unsubscribe.cpp).
#pragma once

#include <optional>
#include <string_view>

namespace volley::platform {

// RFC 8058 3.1: the body holds the key/value pair List-Unsubscribe=One-Click,
// - application/x-www-form-urlencoded (or no Content-Type): one of the
//   &-separated pairs is exactly that (trailing CR/LF ignored); the text as
//   a part of another pair ("X-List-Unsubscribe=One-Click") does not count;
// - multipart/form-data (RFC 7578): a part whose Content-Disposition names
//   List-Unsubscribe has the value One-Click. The parts are found by the
//   boundary of `content_type`; without one nothing counts.
bool is_one_click_body(std::optional<std::string_view> content_type, std::string_view body);

}  // namespace volley::platform
