// Whether a queued message can go to a given server as it is (RFC 6152
// 8BITMIME, RFC 6531 SMTPUTF8, RFC 1870 SIZE). Volley never downgrades
// content (no 8bit -> quoted-printable conversion): a message the server
// cannot take unchanged is bounced with the status verdict_status() names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "queue/envelope.hpp"
#include "delivery/client_capabilities.hpp"

namespace volley::delivery {

struct ContentTraits {
  bool eight_bit = false;   // a byte >= 0x80 anywhere
  size_t longest_line = 0;  // bytes of the longest line, not counting its CRLF (or bare LF)
};

// One pass over the content (memchr per line, 8 bytes at a time for 8-bit).
ContentTraits scan_content(std::string_view content);

// True when the transaction needs SMTPUTF8: the client asked for it, or the
// sender or a recipient address has non-ASCII bytes.
bool envelope_needs_smtputf8(const queue::Envelope& env);

// No LineTooLong verdict: lines over 998 bytes (RFC 5321 4.5.3.1.6) are sent
// as they are, like Postfix without smtp_line_length_limit; a server that
// minds says so with its own reply. ContentTraits::longest_line is there for logs.
enum class ContentVerdict {
  Send,
  NeedsSmtpUtf8,      // envelope_needs_smtputf8 and the server lacks SMTPUTF8: 5.6.7 (RFC 6531 3.4)
  NeedsEightBitMime,  // 8-bit content and the server lacks 8BITMIME: 5.6.3 (never send 8-bit to a 7-bit server)
  TooBig,             // caps.size && caps.max_size && content_size > caps.max_size: 5.3.4
};

// Checks in the order above; the first problem wins.
ContentVerdict check_content(const queue::Envelope& env, const ContentTraits& traits, uint64_t content_size,
                             const ServerCapabilities& caps);

// Enhanced status for a bounce: "5.6.7", "5.6.3", "5.3.4"; "" for Send.
const char* verdict_status(ContentVerdict verdict);
// Diagnostic text for logs and the DSN, e.g. "message needs SMTPUTF8 but the server does not offer it"; "" for Send.
const char* verdict_reason(ContentVerdict verdict);

}  // namespace volley::delivery
