// Base64 (RFC 4648) for SASL. Decoding is strict: bad characters, bad padding
// or trailing garbage fail, because a lenient decoder lets a client smuggle
// bytes past logging and length checks.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace volley {

std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace volley
