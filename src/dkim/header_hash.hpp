// The data a DKIM signature covers (RFC 6376 3.7): the header fields h=
// names, chosen bottom-up (5.4.2), canonicalized, then the DKIM-Signature
// field itself with b= empty and no final CRLF. Shared by signer and
// verifier so both select and canonicalize the same way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dkim/canonicalize.hpp"

namespace volley::dkim {

// `signature_field` is the DKIM-Signature field with b='s value removed.
// A name in `signed_headers` with no (more) instance contributes nothing.
std::string signing_input(std::string_view header_block, const std::vector<std::string>& signed_headers,
                          Canon canon, std::string_view signature_field);

}  // namespace volley::dkim
