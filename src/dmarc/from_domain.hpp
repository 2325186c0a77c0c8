// The RFC5322.From domain that DMARC evaluates (RFC 7489 3.1, 6.6.1), read
// from a message's header block. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace volley::dmarc {

// The domains of every address in the From: field(s) of `header_block`
// (lowercased, trailing dot removed), in order. Handles display names,
// quoted strings, comments, folding and group syntax. Errors: no From
// field, more than one From field, an address without a domain.
Result<std::vector<std::string>> from_domains(std::string_view header_block);

// The single domain DMARC applies to: all From addresses must share it
// (RFC 7489 6.6.1 leaves several domains to local policy; we refuse to
// guess: permerror).
Result<std::string> from_domain(std::string_view header_block);

}  // namespace volley::dmarc
