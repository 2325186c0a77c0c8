// UTF-8 well-formedness (RFC 3629): shared by the address grammar, the ESMTP
// parameter parser and the log escaping, so all agree on what is UTF-8.
#pragma once

#include <cstddef>
#include <string_view>

namespace volley {

// Length of the well-formed UTF-8 sequence of two or more bytes starting at
// s[i], or 0 if there is none (ASCII, overlong forms, surrogates, > U+10FFFF,
// truncated sequences).
size_t utf8_sequence_length(std::string_view s, size_t i);

// True if `s` is well-formed UTF-8.
bool is_valid_utf8(std::string_view s);

// True if s[i] starts U+0080..U+009F (C1 controls: NEL, CSI...), which some
// terminals and log viewers act on.
inline bool is_c1_control(std::string_view s, size_t i) {
  return static_cast<unsigned char>(s[i]) == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0;
}

}  // namespace volley
