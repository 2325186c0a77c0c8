// What `volley send` does to the message it is given before it is queued
// (the job Postfix's cleanup does for sendmail/postdrop): CRLF line endings,
// and the header fields RFC 5322 requires when the author's program left
// them out. Pure: bytes in, bytes out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "platform/mime_builder.hpp"

namespace volley::admin {

struct LocalMessageFields {
  std::string from;                    // addr-spec for From: (the envelope sender)
  std::optional<std::string> subject;  // UTF-8 without CR/LF (send_protocol's subject_problem)
  platform::MessageStamp stamp;        // Date: and Message-ID: <id_local@from-domain>
};

// Every line ending as CRLF: bare LF and bare CR become CRLF, CRLF stays.
// The last line gets one if it has none (an empty message stays empty).
std::string crlf_lines(std::string_view raw);

// The message as queued: crlf_lines(raw) with From:, Date:, Message-ID:
// and (when `fields.subject` is set) Subject: added in front of the header
// block when absent from it. A message whose first line is not a header
// field has no header block: the fields and an empty line go before it.
std::string prepare_local_message(std::string_view raw, const LocalMessageFields& fields);

}  // namespace volley::admin
