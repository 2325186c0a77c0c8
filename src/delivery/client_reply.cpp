// Reply-line parsing for the outbound client. A reply line is
//   Reply-code [ ("-" / SP) textstring ] CRLF
// and a reply is every line up to the first one whose code is followed by a
// space or by nothing.
#include "delivery/client_reply.hpp"

#include <cstring>

#include "util/strings.hpp"

namespace volley::delivery {
namespace {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 1 to 3 digits at the front of `s`; returns how many (0 if none or more than 3).
size_t digit_run(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && is_digit(s[n])) ++n;
  return n <= 3 ? n : 0;
}

// The enhanced code at the start of `text` when it is one of the reply's class.
std::string enhanced_code_of(int code, std::string_view text) {
  const size_t end = text.find(' ');
  const std::string_view word = text.substr(0, end);
  if (!is_enhanced_status_code(word) || word.front() - '0' != code / 100) return {};
  return std::string(word);
}

// `line` minus a leading copy of the reply's enhanced code: multi-line
// replies repeat it on every line (RFC 2034), once is enough in a log.
std::string_view without_repeated_code(std::string_view line, std::string_view enhanced) {
  if (enhanced.empty() || line.substr(0, enhanced.size()) != enhanced) return line;
  const std::string_view rest = line.substr(enhanced.size());
  if (!rest.empty() && rest.front() != ' ') return line;
  return trim(rest);
}

// Printable ASCII only: a reply text ends up in log lines and DSN headers.
std::string printable_ascii(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) ch = ' ';
    if (c >= 0x80) ch = '?';
  }
  return out;
}

}  // namespace

bool is_enhanced_status_code(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  s.remove_prefix(2);
  const size_t subject = digit_run(s);
  if (subject == 0 || subject >= s.size() || s[subject] != '.') return false;
  s.remove_prefix(subject + 1);
  const size_t detail = digit_run(s);
  return detail != 0 && detail == s.size();
}

std::string ServerReply::text() const {
  std::string out = std::to_string(code);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string clean = printable_ascii(lines[i]);
    const std::string_view line = i == 0 ? trim(clean) : without_repeated_code(trim(clean), enhanced);
    if (line.empty()) continue;
    out.push_back(' ');
    out.append(line);
    if (out.size() > kMaxTextLength) break;
  }
  if (out.size() > kMaxTextLength) {
    out.resize(kMaxTextLength - 3);
    out += "...";
  }
  return out;
}

ReplyReader::ReplyReader(size_t max_line, size_t max_lines) : max_line_(max_line), max_lines_(max_lines) {}

ReplyReader::Status ReplyReader::fail(std::string message) {
  error_ = std::move(message);
  pending_.clear();
  reply_ = ServerReply{};
  return Status::Error;
}

ReplyReader::Status ReplyReader::next(std::string_view& in, ServerReply& out) {
  if (!error_.empty()) return Status::Error;
  while (!in.empty()) {
    const void* found = std::memchr(in.data(), '\n', in.size());
    if (found == nullptr) {
      // A trailing CR may still turn out to be part of the line ending, so
      // one byte more than max_line is allowed while waiting for the LF.
      if (pending_.size() + in.size() > max_line_ + 1) return fail("reply line too long");
      pending_.append(in);
      in = {};
      return Status::NeedMore;
    }
    const size_t lf = static_cast<size_t>(static_cast<const char*>(found) - in.data());
    std::string_view line = in.substr(0, lf);
    in.remove_prefix(lf + 1);
    if (!pending_.empty()) {
      pending_.append(line);
      line = pending_;
    }
    Status status = take_line(line, out);
    pending_.clear();
    if (status != Status::NeedMore) return status;
  }
  return Status::NeedMore;
}

// One complete line (its LF removed). NeedMore = the reply continues.
ReplyReader::Status ReplyReader::take_line(std::string_view line, ServerReply& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > max_line_) return fail("reply line too long");
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]))
    return fail("malformed reply line: \"" + printable(line, 80) + "\"");
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (code < 200 || code > 599) return fail("reply code out of range: \"" + printable(line, 80) + "\"");
  const bool last = line.size() == 3 || line[3] == ' ';
  if (!last && line[3] != '-') return fail("malformed reply line: \"" + printable(line, 80) + "\"");
  if (!reply_.lines.empty() && code != reply_.code)
    return fail("reply code changed within a multi-line reply: \"" + printable(line, 80) + "\"");
  if (reply_.lines.size() >= max_lines_) return fail("reply has too many lines");
  reply_.code = code;
  reply_.lines.emplace_back(line.size() > 3 ? line.substr(4) : std::string_view{});
  if (!last) return Status::NeedMore;
  reply_.enhanced = enhanced_code_of(reply_.code, reply_.lines.front());
  out = std::move(reply_);
  reply_ = ServerReply{};
  return Status::Ready;
}

}  // namespace volley::delivery
