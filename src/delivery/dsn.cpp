#include "delivery/dsn.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "delivery/client_reply.hpp"
#include "smtp/headers.hpp"
#include "smtp/received.hpp"
#include "util/strings.hpp"

namespace volley::delivery {
namespace {

// Limits. A field value (reply text, address) is capped before folding so a
// hostile multi-kilobyte reply cannot bloat the report; a run without spaces
// is clipped so a folded line stays far below RFC 5322's 998 octets.
constexpr size_t kMaxValue = 4096;
constexpr size_t kMaxRun = 900;
constexpr size_t kMaxSpaces = 64;
constexpr size_t kFoldAt = 78;
constexpr size_t kMaxTextLine = 900;

bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// Length of the valid UTF-8 sequence at s[i] (code point in cp), 0 if invalid
// (overlong, surrogate, beyond U+10FFFF, truncated).
size_t utf8_sequence(std::string_view s, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  uint32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1Fu, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0Fu, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Untrusted bytes as one line of 7-bit text: CRLF and every other control
// byte become a space (so nothing can start a new header line, a new
// delivery-status block or a MIME boundary line), valid UTF-8 becomes RFC 6533
// "\x{HEX}" escapes, invalid 8-bit bytes '?'. Trimmed, capped at `cap`.
std::string ascii_line(std::string_view s, size_t cap = kMaxValue) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::string piece;
    size_t used = 1;
    if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
      // CRLF collapses into the single space emitted for its LF.
    } else if (c < 0x20 || c == 0x7F) {
      piece = " ";
    } else if (c < 0x80) {
      piece = std::string(1, static_cast<char>(c));
    } else {
      uint32_t cp = 0;
      used = utf8_sequence(s, i, cp);
      if (used == 0) {
        piece = "?";
        used = 1;
      } else {
        char buf[16];
        std::snprintf(buf, sizeof buf, "\\x{%X}", static_cast<unsigned>(cp));
        piece = buf;
      }
    }
    if (out.size() + piece.size() > cap) break;  // never cut an escape in half
    out += piece;
    i += used;
  }
  return std::string(trim(out));
}

// RFC 6533 utf-8-addr-xtext: an address with non-ASCII cannot be an "rfc822"
// address, so it is reported with address type "utf-8", every character
// outside QCHAR (non-ASCII, controls, space, '+', '=', backslash) as "\x{HEX}".
std::string utf8_addr_xtext(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && out.size() < kMaxValue;) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t used = 1;
    if (c >= 0x80) used = utf8_sequence(s, i, cp);
    if (used == 0) {
      out += '?';
      used = 1;
    } else if (c > 0x20 && c < 0x7F && c != '+' && c != '=' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\x{%X}", static_cast<unsigned>(cp));
      out += buf;
    }
    i += used;
  }
  return out;
}

// "type;address" for Original-Recipient / Final-Recipient.
std::string typed_address(std::string_view type, std::string_view address) {
  if (has_8bit(address)) return "utf-8;" + utf8_addr_xtext(address);
  return std::string(type) + ";" + ascii_line(address);
}

// Letters and digits only: the boundary seed and the fallback Message-ID.
std::string alnum_only(std::string_view s, size_t cap) {
  std::string out;
  for (char c : s) {
    if (out.size() >= cap) break;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) out += c;
  }
  return out;
}

std::string host_of(std::string_view name) {
  std::string h = smtp::sanitize_for_header(name);
  return h.empty() ? "localhost" : h;
}

std::string date_of(int64_t t) { return smtp::rfc5322_date(static_cast<std::time_t>(t)); }

// "Name: value\r\n", folded before a space when a line would pass 78 columns.
// Whitespace is kept (unfolding restores the value); runs longer than kMaxRun
// and gaps longer than kMaxSpaces are clipped so no line can reach 998 octets. `value` must already be
// a single line (ascii_line or a sanitised token).
void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ':';
  size_t line_len = name.size() + 1;
  size_t i = 0;
  bool first = true;
  while (i < value.size()) {
    // A segment: leading spaces, then a run of non-spaces.
    size_t j = i;
    while (j < value.size() && value[j] == ' ') ++j;
    size_t k = j;
    while (k < value.size() && value[k] != ' ') ++k;
    std::string_view spaces = value.substr(i, std::min(j - i, kMaxSpaces));
    std::string_view run = value.substr(j, std::min(k - j, kMaxRun));
    if (first) {
      spaces = " ";  // "Name: value"
    } else if (line_len + spaces.size() + run.size() > kFoldAt && !spaces.empty()) {
      out += "\r\n";
      line_len = 0;
    }
    out += spaces;
    out += run;
    line_len += spaces.size() + run.size();
    first = false;
    i = k;
  }
  out += "\r\n";
}

std::string clip_text_line(std::string s) {
  if (s.size() > kMaxTextLine) {
    s.resize(kMaxTextLine);
    s += "...";
  }
  return s;
}

// The status to report: the given one when well formed and of the action's
// class, else the generic code of that class. A failure may carry a 4.x.x:
// a recipient that expired after temporary errors is reported with the last
// transient status it got (RFC 3464 2.3.4 leaves the class to the cause;
// Postfix does the same), so the sender sees "4.3.0", not a made-up 5.0.0.
std::string status_for(const DsnRecipient& r) {
  const char want = r.action == DsnAction::Failed ? '5' : r.action == DsnAction::Delayed ? '4' : '2';
  const bool expired_failure = r.action == DsnAction::Failed && !r.status.empty() && r.status[0] == '4';
  if (is_enhanced_status(r.status) && (r.status[0] == want || expired_failure)) return r.status;
  return std::string(1, want) + ".0.0";
}

enum class Kind { Failure, Delay, Success };

Kind kind_of(const std::vector<DsnRecipient>& rcpts) {
  bool any_success = false;
  for (const auto& r : rcpts) {
    if (r.action == DsnAction::Failed) return Kind::Failure;
    if (r.action == DsnAction::Delivered || r.action == DsnAction::Relayed) any_success = true;
  }
  return any_success || rcpts.empty() ? Kind::Success : Kind::Delay;
}

enum class Returned { Full, Headers, HeadersTooBig, Nothing };

Returned returned_form(const DsnRequest& req, Kind kind, std::string_view headers) {
  bool full = iequals(req.ret, "FULL") || (req.ret.empty() && kind == Kind::Failure);
  if (iequals(req.ret, "HDRS")) full = false;
  if (full && req.original.size() <= req.max_original_bytes) return Returned::Full;
  // Even the header block alone may be over the limit: RFC 3464 makes the
  // third part optional, so leave it out rather than exceed the bound.
  if (headers.size() > req.max_original_bytes) return Returned::Nothing;
  return full ? Returned::HeadersTooBig : Returned::Headers;
}

std::string explanation(const DsnRequest& req, Kind kind, Returned returned, const std::string& host) {
  std::string t = "This is the mail delivery system at " + host + ".\r\n\r\n";
  switch (kind) {
    case Kind::Failure:
      t += "Your message could not be delivered to one or more recipients.\r\n"
           "This is a permanent error; delivery will not be retried.\r\n";
      break;
    case Kind::Delay:
      t += "Your message has not yet been delivered to one or more recipients.\r\n"
           "Delivery is still being retried; you do not need to send it again.\r\n";
      break;
    case Kind::Success:
      t += "Your message was delivered to the following recipients.\r\n";
      break;
  }
  t += "\r\n";
  for (const auto& r : req.recipients) {
    t += clip_text_line(concat("<", ascii_line(r.final_recipient, kMaxTextLine), ">: ", action_name(r.action), " (",
                               status_for(r), ")"));
    t += "\r\n";
    if (r.action == DsnAction::Relayed)
      t += "    relayed to a system that does not report final delivery\r\n";
    if (!r.diagnostic.empty()) {
      std::string who = r.remote_mta.empty() ? "the server" : "host " + host_of(r.remote_mta);
      t += clip_text_line("    " + who + " said: " + ascii_line(r.diagnostic, kMaxTextLine)) + "\r\n";
    }
    if (!r.reason.empty()) t += clip_text_line("    " + ascii_line(r.reason, kMaxTextLine)) + "\r\n";
    if (r.action == DsnAction::Delayed && r.will_retry_until != 0)
      t += "    will be retried until " + date_of(r.will_retry_until) + "\r\n";
  }
  t += "\r\n";
  switch (returned) {
    case Returned::Full:
      t += "The original message is attached.\r\n";
      break;
    case Returned::Headers:
      t += "The headers of the original message are attached.\r\n";
      break;
    case Returned::HeadersTooBig:
      t += "The original message was larger than " + std::to_string(req.max_original_bytes) +
           " bytes; only its headers are attached.\r\n";
      break;
    case Returned::Nothing:
      t += "The original message was too large to be attached, even its headers.\r\n";
      break;
  }
  return t;
}

std::string delivery_status(const DsnRequest& req, const std::string& host) {
  // Field order follows the RFC 3464 grammar: extension (X-) fields last.
  std::string s;
  const std::string envid = ascii_line(req.envid);
  if (!envid.empty()) append_field(s, "Original-Envelope-Id", envid);
  append_field(s, "Reporting-MTA", "dns; " + host);
  if (req.arrival != 0) append_field(s, "Arrival-Date", date_of(req.arrival));
  if (!req.queue_id.empty()) append_field(s, "X-Volley-Queue-ID", ascii_line(req.queue_id, 255));
  for (const auto& r : req.recipients) {
    s += "\r\n";  // each recipient is its own block (RFC 3464 2.1)
    const std::string orcpt_type = smtp::sanitize_for_header(r.orcpt_type);
    if (!orcpt_type.empty() && !ascii_line(r.orcpt_address).empty())
      append_field(s, "Original-Recipient", typed_address(orcpt_type, r.orcpt_address));
    append_field(s, "Final-Recipient", typed_address("rfc822", r.final_recipient));
    append_field(s, "Action", action_name(r.action));
    append_field(s, "Status", status_for(r));
    if (!r.remote_mta.empty()) append_field(s, "Remote-MTA", "dns; " + host_of(r.remote_mta));
    const std::string diag = ascii_line(r.diagnostic);
    if (!diag.empty()) append_field(s, "Diagnostic-Code", "smtp; " + diag);
    if (r.last_attempt != 0) append_field(s, "Last-Attempt-Date", date_of(r.last_attempt));
    if (r.action == DsnAction::Delayed && r.will_retry_until != 0)
      append_field(s, "Will-Retry-Until", date_of(r.will_retry_until));
  }
  return s;
}

// A boundary that occurs in none of the parts. The first candidates are
// derived from the queue id (readable, deterministic); after a few
// collisions (only a sender who guessed them can cause that) random ones,
// which a sender cannot predict. Every candidate is checked.
std::string pick_boundary(const DsnRequest& req, const std::vector<std::string_view>& parts) {
  const std::string seed = "=_volley_" + alnum_only(req.queue_id, 32);
  auto collides = [&](const std::string& b) {
    return std::any_of(parts.begin(), parts.end(), [&](std::string_view p) { return p.find(b) != p.npos; });
  };
  for (unsigned n = 0;; ++n) {
    std::string b = seed;
    if (n > 0 && n < 4) {
      b += '_';
      b += std::to_string(n);
    } else if (n >= 4) {
      static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
      std::array<unsigned char, 20> rnd{};
      if (RAND_bytes(rnd.data(), static_cast<int>(rnd.size())) != 1) rnd.fill(static_cast<unsigned char>(n));
      b += "_";
      for (unsigned char c : rnd) b += kAlphabet[c % 36];
      b += std::to_string(n);
    }
    if (!collides(b)) return b;
  }
}

}  // namespace

std::string_view action_name(DsnAction action) {
  switch (action) {
    case DsnAction::Failed: return "failed";
    case DsnAction::Delayed: return "delayed";
    case DsnAction::Delivered: return "delivered";
    case DsnAction::Relayed: return "relayed";
  }
  return "failed";
}

bool is_enhanced_status(std::string_view s) { return is_enhanced_status_code(s); }

std::string enhanced_status_of(int code, std::string_view reply_text) {
  const char klass = code >= 200 && code < 300 ? '2' : code >= 500 && code < 600 ? '5' : '4';
  std::string_view text = trim(reply_text);
  const std::string_view first = text.substr(0, text.find_first_of(" \t\r\n"));
  const bool same_class = code >= 100 && code < 1000 && !first.empty() && first[0] == static_cast<char>('0' + code / 100);
  if (same_class && is_enhanced_status(first)) return std::string(first);
  return std::string(1, klass) + ".0.0";
}

std::string build_dsn(const DsnRequest& req) {
  const std::string host = host_of(req.reporting_mta);
  const Kind kind = kind_of(req.recipients);
  const std::string_view headers = req.original.substr(0, smtp::header_block_end(req.original));
  const Returned returned = returned_form(req, kind, headers);

  const std::string text = explanation(req, kind, returned, host);
  const std::string status = delivery_status(req, host);
  std::string_view attached;
  std::string third_headers;
  if (returned == Returned::Full) {
    attached = req.original;
    third_headers = "Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n";
  } else if (returned != Returned::Nothing) {
    attached = headers;
    third_headers = "Content-Description: Message Headers\r\nContent-Type: text/rfc822-headers\r\n";
  }
  const bool eight_bit = has_8bit(attached);
  if (eight_bit) third_headers += "Content-Transfer-Encoding: 8bit\r\n";

  const std::string boundary = pick_boundary(req, {text, status, attached});

  std::string out;
  out.reserve(text.size() + status.size() + attached.size() + 2048);
  append_field(out, "From", "Mail Delivery System <MAILER-DAEMON@" + host + ">");
  const std::string to = ascii_line(req.sender);
  append_field(out, "To", to.empty() ? "undisclosed-recipients:;" : "<" + to + ">");
  append_field(out, "Subject", kind == Kind::Failure ? "Undelivered Mail Returned to Sender"
                               : kind == Kind::Delay ? "Delayed Mail (still being retried)"
                                                     : "Successful Mail Delivery Report");
  append_field(out, "Date", date_of(req.now));
  // Message-ID: printable ASCII without brackets or spaces.
  std::string mid;
  for (char c : req.message_id)
    if (c > 0x20 && c < 0x7F && c != '<' && c != '>' && mid.size() < 250) mid += c;
  if (mid.empty()) mid = alnum_only(req.queue_id, 64) + ".dsn." + std::to_string(req.now) + "@" + host;
  append_field(out, "Message-ID", "<" + mid + ">");
  out += "Auto-Submitted: auto-replied\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"\r\n";
  if (eight_bit) out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

  out += "--" + boundary + "\r\n";
  out += "Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
  out += text;
  out += "\r\n--" + boundary + "\r\n";
  out += "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n";
  out += status;
  if (!third_headers.empty()) {
    out += "\r\n--" + boundary + "\r\n";
    out += third_headers;
    out += "\r\n";
    out += attached;
  }
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

}  // namespace volley::delivery
