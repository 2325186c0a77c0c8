// Builds the RFC 5322 message for a validated MessageRequest, with GMime:
//   text only -> text/plain; html only -> text/html; both ->
//   multipart/alternative; attachments -> multipart/mixed around that.
// Bodies are UTF-8 with 7bit, quoted-printable or base64 as GMime finds
// best (lines over 998 octets force an encoding); subjects and display
// names get RFC 2047 encoded words, filenames RFC 2231 filename*=; output
// has CRLF line endings and no Bcc header. Date and Message-ID come from a
// MessageStamp the caller makes (tests pass fixed ones).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "platform/message_request.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace volley::platform {

struct MessageStamp {
  int64_t date_unix_seconds = 0;  // Date:, shown in UTC
  std::string id_local;           // Message-ID: <id_local@from-domain>; dot-atom text
};

// Now, and 128 random bits (libsodium) as 26 base32 characters.
MessageStamp make_stamp(const Clock& clock);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct BuiltMessage {
  std::string bytes;                             // the whole message, CRLF
  std::string message_id;                        // without angle brackets
  std::vector<std::string> envelope_recipients;  // to + cc + bcc addr-specs, each once
};

// `extra_headers` come from Volley itself (List-Unsubscribe,
// List-Unsubscribe-Post, X-Volley-*), after the request's own headers; they
// are still refused (ErrorCode::Invalid) if they hold CR/LF/NUL or a bad
// name. Fails only on such headers or an invalid stamp.
Result<BuiltMessage> build_message(const MessageRequest& request, const HeaderList& extra_headers,
                                   const MessageStamp& stamp);

}  // namespace volley::platform
