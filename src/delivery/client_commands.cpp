#include "delivery/client_commands.hpp"

#include <cstring>
#include <utility>

#include "smtp/address.hpp"
#include "delivery/client_content.hpp"
#include "smtp/command.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace volley::delivery {

// The server side's parameter vocabulary (RFC 3461 NOTIFY, xtext) is the
// same on the wire in both directions.
using smtp::encode_xtext;
using smtp::is_valid_utf8;
using smtp::kNotifyDelay;
using smtp::kNotifyFailure;
using smtp::kNotifyNever;
using smtp::kNotifySuccess;
using smtp::kNotifyUnspecified;
namespace {

// Values that come from the queue or the config: controls (CR, LF, NUL...)
// are dropped so a value can never end the command line early.
void append_clean(std::string& out, std::string_view value) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) out.push_back(c);
  }
}

std::string verb_line(std::string_view verb, std::string_view argument) {
  std::string out(verb);
  out.push_back(' ');
  append_clean(out, argument);
  out += "\r\n";
  return out;
}

// DSN addr-type (RFC 3461 4.2): an atom.
bool is_addr_type(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c <= ' ' || c > '~') return false;
    if (std::strchr("()<>@,;:\\\".[]=+", c) != nullptr) return false;
  }
  return true;
}

// Next code point of valid UTF-8 at `s[i]` (the caller checked validity).
uint32_t next_code_point(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t n = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
  uint32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

// utf-8-addr-xtext (RFC 6533 3): QCHAR as is, everything else "\x{HEX}"
// (at least two uppercase hex digits, no leading zeros beyond that).
std::string encode_utf8_addr_xtext(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = next_code_point(s, i);
    if (cp >= 0x21 && cp <= 0x7e && cp != '+' && cp != '=' && cp != '\\') {
      out.push_back(static_cast<char>(cp));
      continue;
    }
    out += "\\x{";
    int shift = 20;
    while (shift > 4 && (cp >> shift) == 0) shift -= 4;
    for (; shift >= 0; shift -= 4) out.push_back(kHex[(cp >> shift) & 15]);
    out.push_back('}');
  }
  return out;
}

void append_notify(std::string& out, unsigned notify) {
  if (notify == kNotifyUnspecified) return;
  out += " NOTIFY=";
  if (notify & kNotifyNever) {
    out += "NEVER";
    return;
  }
  const char* sep = "";
  for (const auto& [bit, name] : {std::pair{kNotifySuccess, "SUCCESS"}, std::pair{kNotifyFailure, "FAILURE"},
                                  std::pair{kNotifyDelay, "DELAY"}}) {
    if (!(notify & bit)) continue;
    out += sep;
    out += name;
    sep = ",";
  }
}

void append_orcpt(std::string& out, const queue::Recipient& rcpt) {
  if (rcpt.orcpt_address.empty() || !is_addr_type(rcpt.orcpt_type)) return;
  if (iequals(rcpt.orcpt_type, "utf-8")) {
    if (!is_valid_utf8(rcpt.orcpt_address)) return;
    out += " ORCPT=utf-8;";
    out += encode_utf8_addr_xtext(rcpt.orcpt_address);
    return;
  }
  out += " ORCPT=";
  out += rcpt.orcpt_type;
  out.push_back(';');
  out += encode_xtext(rcpt.orcpt_address);
}

// One logical line of the payload, dot-stuffed, with its CRLF.
void append_payload_line(std::string& out, std::string_view line) {
  if (!line.empty() && line.front() == '.') out.push_back('.');
  out.append(line);
  out += "\r\n";
}

}  // namespace

std::string ehlo_command(std::string_view name) { return verb_line("EHLO", name); }
std::string helo_command(std::string_view name) { return verb_line("HELO", name); }

std::string mail_from_command(const queue::Envelope& env, uint64_t content_size, const ServerCapabilities& caps,
                              bool eight_bit_content) {
  std::string out = "MAIL FROM:<";
  append_clean(out, env.sender);
  out.push_back('>');
  if (caps.size) out += " SIZE=" + std::to_string(content_size);
  if (caps.eight_bit_mime && (env.eight_bit || eight_bit_content)) out += " BODY=8BITMIME";
  if (caps.smtputf8 && envelope_needs_smtputf8(env)) out += " SMTPUTF8";
  if (caps.dsn) {
    if (iequals(env.dsn_ret, "FULL")) out += " RET=FULL";
    if (iequals(env.dsn_ret, "HDRS")) out += " RET=HDRS";
    if (!env.dsn_envid.empty()) out += " ENVID=" + encode_xtext(env.dsn_envid);
  }
  out += "\r\n";
  return out;
}

std::string rcpt_to_command(const queue::Recipient& rcpt, const ServerCapabilities& caps) {
  std::string out = "RCPT TO:<";
  append_clean(out, rcpt.address);
  out.push_back('>');
  if (caps.dsn) {
    append_notify(out, rcpt.notify);
    append_orcpt(out, rcpt);
  }
  out += "\r\n";
  return out;
}

std::string auth_plain_command(std::string_view user, std::string_view password) {
  std::string credentials;
  credentials.reserve(user.size() + password.size() + 2);
  credentials.push_back('\0');
  credentials.append(user);
  credentials.push_back('\0');
  credentials.append(password);
  return "AUTH PLAIN " + base64_encode(credentials) + "\r\n";
}

std::string sasl_response(std::string_view value) { return base64_encode(value) + "\r\n"; }

std::string bdat_command(uint64_t chunk_size, bool last) {
  return "BDAT " + std::to_string(chunk_size) + (last ? " LAST\r\n" : "\r\n");
}

void append_data_payload(std::string& out, std::string_view content) {
  // Stuffed dots are rare; reserve for the content, the final line and a few.
  out.reserve(out.size() + content.size() + 8);
  const char* const begin = content.data();
  const size_t n = content.size();
  size_t pos = 0;
  while (pos < n) {
    // The line ends at the first LF or CR. The LF search is memchr over the
    // line; the CR search only looks inside it, usually finding the CR of CRLF.
    const auto* lf = static_cast<const char*>(std::memchr(begin + pos, '\n', n - pos));
    const size_t lf_at = lf != nullptr ? static_cast<size_t>(lf - begin) : n;
    const auto* cr = static_cast<const char*>(std::memchr(begin + pos, '\r', lf_at - pos));
    const size_t end = cr != nullptr ? static_cast<size_t>(cr - begin) : lf_at;
    append_payload_line(out, content.substr(pos, end - pos));
    if (end == n) break;
    pos = end + (content[end] == '\r' && end + 1 < n && content[end + 1] == '\n' ? 2 : 1);
  }
  out += ".\r\n";
}

}  // namespace volley::delivery
