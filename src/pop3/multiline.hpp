// A message as a POP3 multi-line response body (RFC 1939 3): lines that
// begin with "." get another "." in front, the body ends with ".\r\n" on a
// line of its own. For TOP the output stops after the header block, the empty
// line and `body_lines` lines of the body. Fed piece by piece (a message is
// never held whole), so the state carries across piece boundaries.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace volley::pop3 {

class MultilineEncoder {
 public:
  static constexpr uint64_t kAllLines = std::numeric_limits<uint64_t>::max();
  // kAllLines: RETR; n: TOP msg n.
  explicit MultilineEncoder(uint64_t body_lines = kAllLines) : body_lines_(body_lines) {}

  // Appends `in` (message bytes) to `out`, dot-stuffed. Returns false once
  // TOP's limit is reached: the rest of the message is not needed.
  bool feed(std::string_view in, std::string& out);
  // Appends the terminator (with a CRLF first if the last line lacked one).
  void finish(std::string& out);
  bool done() const { return done_; }

 private:
  uint64_t body_lines_;
  bool at_line_start_ = true;
  bool in_body_ = false;          // past the empty line that ends the header block
  bool line_empty_ = true;        // the current line has no bytes other than CR so far
  uint64_t body_lines_sent_ = 0;
  bool done_ = false;
};

}  // namespace volley::pop3
