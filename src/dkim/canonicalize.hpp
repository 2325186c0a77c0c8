// Header canonicalization, RFC 6376 3.4.1 (simple) and 3.4.2 (relaxed).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace volley::dkim {

enum class Canon { Simple, Relaxed };

// "simple" / "relaxed", nullopt otherwise.
std::optional<Canon> parse_canon(std::string_view name);
const char* canon_name(Canon c);

// One raw header field (name, colon, value, folds, final CRLF) in canonical
// form, with its final CRLF (none if the raw field had none). Simple: the
// bytes unchanged. Relaxed: name lowercased, folds removed, WSP runs to one
// SP, WSP around the colon and at the end of the value removed. 8-bit bytes
// pass through as they are.
std::string canonicalize_header(std::string_view raw_field, Canon canon);

}  // namespace volley::dkim
