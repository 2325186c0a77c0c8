// Header-block inspection (RFC 5322 2.2) for the trace and the fields the
// server adds. Pure, over a CRLF-normalised message.
#pragma once

#include <cstddef>
#include <string_view>

namespace volley::smtp {

// Offset just past the header block: after the empty line (CRLFCRLF), or the
// whole message if there is no empty line (a message that is all headers).
// A first line that is not a header field (no "name:") means there are no
// headers: returns 0.
size_t header_block_end(std::string_view message);

// True if the header block has a field with this name (case-insensitive),
// e.g. has_header(msg, "Message-ID"). Only field names at the start of a line
// count; folded continuation lines are skipped.
bool has_header(std::string_view message, std::string_view name);

// Counts "Received:" fields in the header block (mail-loop detection).
size_t count_received(std::string_view message);

}  // namespace volley::smtp
