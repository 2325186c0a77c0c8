#include "pop3/multiline.hpp"

namespace volley::pop3 {

bool MultilineEncoder::feed(std::string_view in, std::string& out) {
  if (done_) return false;
  if (!in_body_ && body_lines_ == kAllLines) in_body_ = true;  // RETR: no header/body distinction needed
  out.reserve(out.size() + in.size() + in.size() / 64 + 2);
  size_t copied = 0;  // bytes of `in` already appended
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (at_line_start_) {
      if (in_body_ && body_lines_sent_ >= body_lines_) {
        out.append(in.substr(copied, i - copied));
        done_ = true;
        return false;
      }
      if (c == '.') {
        out.append(in.substr(copied, i - copied));
        out.push_back('.');
        copied = i;
      }
      at_line_start_ = false;
    }
    if (c == '\n') {
      at_line_start_ = true;
      if (in_body_) {
        ++body_lines_sent_;
      } else if (line_empty_) {
        in_body_ = true;  // the empty line after the header block
      }
      line_empty_ = true;
    } else if (c != '\r') {
      line_empty_ = false;
    }
  }
  out.append(in.substr(copied));
  if (at_line_start_ && in_body_ && body_lines_sent_ >= body_lines_) {
    done_ = true;
    return false;
  }
  return true;
}

void MultilineEncoder::finish(std::string& out) {
  if (!at_line_start_) out.append("\r\n");
  at_line_start_ = true;
  done_ = true;
  out.append(".\r\n");
}

}  // namespace volley::pop3
