// Replies as the outbound SMTP client reads them (RFC 5321 4.2, enhanced
// status codes RFC 3463 / RFC 2034). The server side builds its own replies
// with smtp::Reply; this is the other direction: untrusted bytes from a
// remote server, parsed incrementally and within fixed bounds.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/limits.hpp"

namespace volley::delivery {

struct ServerReply {
  int code = 0;                    // 200..599 once read
  std::string enhanced;            // "5.1.1" when the first line's text starts with an RFC 3463 code of the code's class, else ""
  std::vector<std::string> lines;  // text of each line after "NNN-" / "NNN " (enhanced code kept), raw bytes without the line ending

  // One line for logs and DSN Diagnostic-Code: "550 5.1.1 No such user".
  // Bytes other than printable ASCII become ' ' (controls) or '?' (8-bit);
  // each line is trimmed, empty ones skipped, an enhanced code repeated at the
  // start of a continuation line dropped, and the rest joined with a space;
  // at most kMaxTextLength bytes (cut with "...").
  std::string text() const;
  bool positive() const { return code >= 200 && code < 400; }   // 2xx, 3xx
  bool transient() const { return code >= 400 && code < 500; }  // 4xx
  bool permanent() const { return code >= 500 && code < 600; }  // 5xx
  bool operator==(const ServerReply&) const = default;

  static constexpr size_t kMaxTextLength = limits::kMaxReplyText;
};

// Incremental reader of server replies: multi-line "NNN-" ... "NNN ", a bare
// "NNN" as the last line is allowed, lines end in CRLF (a bare LF is accepted
// too; one CR before the LF is removed, any other CR stays in the text).
// Errors (all final: every later call returns Error):
//  - a line longer than max_line bytes (not counting its line ending);
//  - a reply of more than max_lines lines;
//  - a line not starting with three digits followed by ' ', '-' or its end;
//  - a code outside 200..599, or a code that changes within a reply.
// The outcome never depends on how the bytes were split across calls.
class ReplyReader {
 public:
  // Reasons in delivery/limits.hpp (RFC 5321 allows 512 octets per line;
  // real servers send longer ones, so generous but bounded).
  static constexpr size_t kDefaultMaxLine = limits::kMaxReplyLine;
  static constexpr size_t kDefaultMaxLines = limits::kMaxReplyLines;

  explicit ReplyReader(size_t max_line = kDefaultMaxLine, size_t max_lines = kDefaultMaxLines);

  enum class Status { NeedMore, Ready, Error };

  // Consumes bytes from the front of `in` (advances it) up to the end of
  // one reply. Ready: `out` holds it and `in` starts right after its last
  // line (a pipelined next reply stays there). NeedMore: all of `in` was
  // consumed and kept internally; call again with more bytes. Error: error()
  // says why; how much of `in` was consumed is unspecified.
  Status next(std::string_view& in, ServerReply& out);

  const std::string& error() const { return error_; }
  // True when bytes of an unfinished reply are held (the peer closing the
  // connection now cuts a reply short).
  bool mid_reply() const { return !pending_.empty() || !reply_.lines.empty(); }

 private:
  Status take_line(std::string_view line, ServerReply& out);
  Status fail(std::string message);

  size_t max_line_;
  size_t max_lines_;
  std::string pending_;  // start of a line whose LF has not arrived yet
  ServerReply reply_;    // lines read so far of the current reply
  std::string error_;
};

// True for "class.subject.detail": class 2, 4 or 5, subject and detail 1-3
// digits (RFC 3463 2).
bool is_enhanced_status_code(std::string_view s);

}  // namespace volley::delivery
