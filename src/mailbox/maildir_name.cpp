#include "mailbox/maildir_name.hpp"

#include <algorithm>

namespace volley::mailbox {
namespace {

constexpr size_t kMaxDigits = 19;  // fits uint64_t

bool is_flag_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

}  // namespace

std::optional<uint64_t> parse_decimal(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > kMaxDigits) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

bool is_message_file_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.size() > 255) return false;
  for (unsigned char c : name)
    if (c == '/' || c < 0x20 || c == 0x7F) return false;
  return true;
}

std::string_view maildir_base(std::string_view name) { return name.substr(0, name.find(':')); }

std::string normalize_flags(std::string_view flags) {
  std::string out;
  for (char c : flags)
    if (is_flag_letter(c) && out.find(c) == std::string::npos) out += c;
  std::sort(out.begin(), out.end());
  return out;
}

MaildirName parse_maildir_name(std::string_view name) {
  MaildirName out;
  const size_t colon = name.find(':');
  out.base = std::string(name.substr(0, colon));
  if (colon != std::string_view::npos) {
    std::string_view info = name.substr(colon + 1);
    if (info.size() >= 2 && info[0] == '2' && info[1] == ',') {
      out.has_info = true;
      out.flags = normalize_flags(info.substr(2));
    } else {
      out.info = std::string(info);
    }
  }
  // Fields ",X=<digits>" after the unique part; the first field is never one
  // (the unique part itself may hold '=' in odd names written by others).
  std::string_view base = out.base;
  size_t pos = base.find(',');
  while (pos != std::string_view::npos) {
    const size_t next = base.find(',', pos + 1);
    std::string_view field = base.substr(pos + 1, next == std::string_view::npos ? std::string_view::npos : next - pos - 1);
    if (field.size() > 2 && field[1] == '=') {
      auto value = parse_decimal(field.substr(2));
      if (field[0] == 'S' && value) out.size = value;
      if (field[0] == 'W' && value) out.vsize = value;
    }
    pos = next;
  }
  return out;
}

std::string maildir_name_with_flags(std::string_view base, std::string_view flags) {
  std::string out(base);
  out += ":2,";
  out += normalize_flags(flags);
  return out;
}

uint64_t crlf_size_of_chunk(std::string_view chunk, bool& prev_cr) {
  uint64_t n = chunk.size();
  for (char c : chunk) {
    if (c == '\n' && !prev_cr) ++n;
    prev_cr = c == '\r';
  }
  return n;
}

}  // namespace volley::mailbox
