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

namespace {

// Leading decimal digits of `s` from `at` (at most kMaxDigits, so no
// overflow), through parse_decimal; advances `at`. nullopt when there are none.
std::optional<uint64_t> leading_number(std::string_view s, size_t& at) {
  size_t end = at;
  while (end < s.size() && end - at < kMaxDigits && s[end] >= '0' && s[end] <= '9') ++end;
  const auto v = parse_decimal(s.substr(at, end - at));
  at = end;
  return v;
}

}  // namespace

bool maildir_name_before(std::string_view a, std::string_view b) {
  size_t ia = 0, ib = 0;
  const auto sa = leading_number(a, ia), sb = leading_number(b, ib);
  if (sa && sb) {
    if (*sa != *sb) return *sa < *sb;
    // ".M<usecs>" right after the seconds in both names
    if (a.substr(ia, 2) == ".M" && b.substr(ib, 2) == ".M") {
      size_t ua = ia + 2, ub = ib + 2;
      const auto ma = leading_number(a, ua), mb = leading_number(b, ub);
      if (ma && mb && *ma != *mb) return *ma < *mb;
    }
  }
  return a < b;
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
