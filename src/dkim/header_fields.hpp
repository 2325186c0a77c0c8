// Splits a raw header block into its fields, bytes kept exactly as received
// (folds, trailing white space, 8-bit bytes): DKIM hashes those bytes, so
// nothing here may normalise them.
#pragma once

#include <string_view>
#include <vector>

namespace volley::dkim {

struct HeaderField {
  std::string_view name;  // before the colon, as written (trailing WSP kept out)
  std::string_view raw;   // the whole field: name, colon, value, folds, final CRLF
};

// The fields of `header_block` (the message up to, optionally including, the
// empty line that ends the headers; a line is ended by LF, normally CRLF).
// Stops at the empty line, at a line that is not a field (no colon and not a
// continuation), or after kMaxHeaderFields fields.
std::vector<HeaderField> split_header_fields(std::string_view header_block);

// Offset of the body: just past the first empty line (CRLFCRLF or LFLF), or
// the size of `message` when it has none. For tools and tests that hold a
// whole message; the intake knows where its header block ends.
size_t body_offset(std::string_view message);

}  // namespace volley::dkim
