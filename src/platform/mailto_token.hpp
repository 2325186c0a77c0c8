// The unsubscribe token in a mail to unsubscribe@D (the mailto: of
// List-Unsubscribe): mail clients put the mailto's subject, which is our
// token, in the Subject; some move it into the body. Pure (the secret in,
// the fields out), so it is unit-tested and fuzzed (fuzz/fuzz_incoming_report.cpp)
// apart from take_mailto_unsubscribe (incoming_unsubscribe.cpp), which
// records what it finds.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "platform/unsubscribe_token.hpp"

namespace volley::platform {

// The header block read for the Subject: generous for any real mail, and
// parsed without a body, so GMime never sees the (hostile) MIME structure.
inline constexpr size_t kMailtoHeaderBlockBytes = 64 * 1024;
// How much of the body is searched when the Subject has no token.
inline constexpr size_t kMailtoBodyScanBytes = 4096;
// Candidates tried, Subject and body together (each costs an HMAC).
inline constexpr size_t kMailtoMaxCandidates = 64;

// The first token of ours (open_unsubscribe_token with `secret`) among the
// runs of base64url characters of the decoded Subject, then of the first
// kMailtoBodyScanBytes of the body; nullopt when none opens. `content` is
// the whole message with CRLF line endings, as queued.
std::optional<UnsubscribeFields> find_mailto_token(std::string_view secret, std::string_view content);

}  // namespace volley::platform
