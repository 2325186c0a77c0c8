// Command-line and ESMTP parameter parsing. Every error detail is a fixed
// string: details go back to the client, and echoing its bytes would let it
// inject text (or CRLF) into our replies.
#include "smtp/command.hpp"

#include <array>
#include <limits>

#include "util/strings.hpp"

namespace volley::smtp {
namespace {

constexpr size_t kMaxEnvid = 100;      // RFC 3461 4.4
constexpr size_t kMaxOrcpt = 500;      // RFC 3461 4.2 (decoded)
constexpr size_t kMaxAuthParam = 500;  // a mailbox, so far below this
constexpr size_t kMaxSizeDigits = 20;  // RFC 1870: 1*20DIGIT

struct VerbName {
  std::string_view name;
  Verb verb;
};

constexpr std::array kVerbs = {
    VerbName{"HELO", Verb::Helo}, VerbName{"EHLO", Verb::Ehlo},         VerbName{"MAIL", Verb::Mail},
    VerbName{"RCPT", Verb::Rcpt}, VerbName{"DATA", Verb::Data},         VerbName{"BDAT", Verb::Bdat},
    VerbName{"RSET", Verb::Rset}, VerbName{"NOOP", Verb::Noop},         VerbName{"VRFY", Verb::Vrfy},
    VerbName{"EXPN", Verb::Expn}, VerbName{"HELP", Verb::Help},         VerbName{"QUIT", Verb::Quit},
    VerbName{"AUTH", Verb::Auth}, VerbName{"STARTTLS", Verb::StartTls},
};

// Seen on the SMTP port from browsers and proxy scanners (cross-protocol
// attacks); the session hangs up on them.
constexpr std::array<std::string_view, 9> kHttpMethods = {"GET",     "POST",    "HEAD",  "PUT",  "DELETE",
                                                          "OPTIONS", "CONNECT", "PATCH", "TRACE"};

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Verb lookup_verb(std::string_view word) {
  for (const auto& v : kVerbs)
    if (iequals(word, v.name)) return v.verb;
  for (auto m : kHttpMethods)
    if (iequals(word, m)) return Verb::HttpMethod;
  return Verb::Unknown;
}

std::string_view skip_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

// Decimal digits only, no sign; nullopt if empty, not all digits, or above
// `max`. Any number of leading zeros is fine (linear, no overflow).
std::optional<uint64_t> parse_decimal(std::string_view s, uint64_t max) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

bool has_control(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

bool is_printable_ascii(std::string_view s) {
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

template <class T>
ParseResult<T> fail(ParseErrorKind kind, const char* detail) {
  ParseResult<T> r;
  r.error = ParseError{kind, detail};
  return r;
}

ParseError address_error(const AddressError& e) {
  switch (e.kind) {
    case AddressErrorKind::TooLong: return {ParseErrorKind::AddressTooLong, e.detail};
    case AddressErrorKind::Utf8NotAllowed: return {ParseErrorKind::Utf8WithoutSmtpUtf8, e.detail};
    case AddressErrorKind::Syntax: break;
  }
  return {ParseErrorKind::BadAddress, e.detail};
}

// ---- ESMTP parameters ("KEY=value KEY2", RFC 5321 4.1.2 Mail-parameters) ----

struct Param {
  std::string_view keyword;
  std::string_view value;
  bool has_value = false;
};

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool is_esmtp_keyword(std::string_view k) {
  if (k.empty() || !is_alnum(k.front())) return false;
  for (char c : k)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

// Next space-separated parameter; false when there are none left.
bool next_param(std::string_view& rest, Param& p) {
  rest = skip_spaces(rest);
  if (rest.empty()) return false;
  const size_t end = rest.find(' ');
  const std::string_view token = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  const size_t eq = token.find('=');
  p.keyword = token.substr(0, eq);
  p.has_value = eq != std::string_view::npos;
  p.value = p.has_value ? token.substr(eq + 1) : std::string_view{};
  return true;
}

// Collects the outcome of one parameter; the first error wins.
struct ParamErrors {
  ParseError error;
  bool failed = false;
  bool set(ParseErrorKind kind, const char* detail) {
    error = ParseError{kind, detail};
    failed = true;
    return false;
  }
  bool bad(const char* detail) { return set(ParseErrorKind::BadParameterValue, detail); }
};

struct KeywordTable {
  std::string_view name;
  unsigned bit;
};

// Index into `table` of the keyword, or -1. Also enforces "at most once".
int match_keyword(const Param& p, const KeywordTable* table, size_t n, unsigned& seen, ParamErrors& errs) {
  if (!is_esmtp_keyword(p.keyword)) {
    errs.set(ParseErrorKind::Syntax, "invalid parameter syntax");
    return -1;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!iequals(p.keyword, table[i].name)) continue;
    if (seen & table[i].bit) {
      errs.set(ParseErrorKind::DuplicateParameter, "parameter given more than once");
      return -1;
    }
    seen |= table[i].bit;
    return static_cast<int>(i);
  }
  errs.set(ParseErrorKind::UnknownParameter, "unrecognised parameter");
  return -1;
}

bool require_value(const Param& p, ParamErrors& errs) {
  if (!p.has_value || p.value.empty()) return errs.bad("parameter requires a value");
  return true;
}

bool require_no_value(const Param& p, ParamErrors& errs) {
  if (p.has_value) return errs.bad("parameter takes no value");
  return true;
}

// ---- MAIL parameters ----

enum MailKey : unsigned { kSize = 1, kBody = 2, kUtf8 = 4, kRet = 8, kEnvid = 16, kAuth = 32 };
constexpr KeywordTable kMailKeys[] = {{"SIZE", kSize}, {"BODY", kBody},   {"SMTPUTF8", kUtf8},
                                      {"RET", kRet},   {"ENVID", kEnvid}, {"AUTH", kAuth}};

bool apply_size(const Param& p, MailCommand& m, ParamErrors& errs) {
  if (!require_value(p, errs)) return false;
  const auto v = p.value.size() <= kMaxSizeDigits
                     ? parse_decimal(p.value, std::numeric_limits<uint64_t>::max())
                     : std::nullopt;
  if (!v) return errs.bad("invalid SIZE value");
  m.size = *v;
  return true;
}

bool apply_body(const Param& p, MailCommand& m, ParamErrors& errs) {
  if (!require_value(p, errs)) return false;
  if (iequals(p.value, "7BIT")) {
    m.body = BodyType::SevenBit;
  } else if (iequals(p.value, "8BITMIME")) {
    m.body = BodyType::EightBitMime;
  } else {  // includes BINARYMIME: CHUNKING's binary extension is not offered
    return errs.bad("unsupported BODY value");
  }
  return true;
}

bool apply_ret(const Param& p, MailCommand& m, ParamErrors& errs) {
  if (!require_value(p, errs)) return false;
  if (iequals(p.value, "FULL")) {
    m.ret = DsnRet::Full;
  } else if (iequals(p.value, "HDRS")) {
    m.ret = DsnRet::Headers;
  } else {
    return errs.bad("invalid RET value");
  }
  return true;
}

bool apply_envid(const Param& p, MailCommand& m, ParamErrors& errs) {
  if (!require_value(p, errs)) return false;
  auto v = decode_xtext(p.value);
  if (!v || v->size() > kMaxEnvid || !is_printable_ascii(*v)) return errs.bad("invalid ENVID value");
  m.envid = std::move(*v);
  return true;
}

// AUTH=<> or an xtext-encoded mailbox (RFC 4954 5); kept for information only.
bool apply_auth(const Param& p, MailCommand& m, ParamErrors& errs) {
  if (!require_value(p, errs)) return false;
  auto v = decode_xtext(p.value);
  if (!v || v->size() > kMaxAuthParam || has_control(*v) || !is_valid_utf8(*v)) return errs.bad("invalid AUTH value");
  m.auth = std::move(*v);
  return true;
}

bool apply_mail_param(const Param& p, bool utf8_offered, unsigned& seen, MailCommand& m, ParamErrors& errs) {
  const int k = match_keyword(p, kMailKeys, std::size(kMailKeys), seen, errs);
  if (k < 0) return false;
  switch (kMailKeys[k].bit) {
    case kSize: return apply_size(p, m, errs);
    case kBody: return apply_body(p, m, errs);
    case kRet: return apply_ret(p, m, errs);
    case kEnvid: return apply_envid(p, m, errs);
    case kAuth: return apply_auth(p, m, errs);
    case kUtf8:
      // Not advertised means not an extension of this server: unknown (555).
      if (!utf8_offered) return errs.set(ParseErrorKind::UnknownParameter, "SMTPUTF8 not offered");
      if (!require_no_value(p, errs)) return false;
      m.smtputf8 = true;
      return true;
    default: return errs.set(ParseErrorKind::UnknownParameter, "unrecognised parameter");
  }
}

// ---- RCPT parameters ----

enum RcptKey : unsigned { kNotify = 1, kOrcpt = 2 };
constexpr KeywordTable kRcptKeys[] = {{"NOTIFY", kNotify}, {"ORCPT", kOrcpt}};

unsigned notify_bit(std::string_view word) {
  if (iequals(word, "NEVER")) return kNotifyNever;
  if (iequals(word, "SUCCESS")) return kNotifySuccess;
  if (iequals(word, "FAILURE")) return kNotifyFailure;
  if (iequals(word, "DELAY")) return kNotifyDelay;
  return 0;
}

// NOTIFY=NEVER / NOTIFY=SUCCESS,FAILURE,DELAY (RFC 3461 4.1).
bool apply_notify(const Param& p, RcptCommand& r, ParamErrors& errs) {
  if (!require_value(p, errs)) return false;
  unsigned bits = 0;
  std::string_view rest = p.value;
  for (;;) {
    const size_t comma = rest.find(',');
    const unsigned bit = notify_bit(rest.substr(0, comma));
    if (bit == 0) return errs.bad("invalid NOTIFY value");
    bits |= bit;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if ((bits & kNotifyNever) && bits != kNotifyNever) return errs.bad("NOTIFY=NEVER cannot be combined");
  r.notify = bits;
  return true;
}

// addr-type = atom (RFC 3461 4.2): printable ASCII without specials.
bool is_addr_type(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c <= ' ' || c > '~') return false;
    if (std::string_view("()<>@,;:\\\".[]=+").find(c) != std::string_view::npos) return false;
  }
  return true;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// "\x{HEX}" at the start of `s` (RFC 6533 EmbeddedUnicodeChar); returns the
// bytes used, 0 if malformed (1 to 6 hex digits). Appends the code point
// as UTF-8.
size_t decode_unicode_escape(std::string_view s, std::string& out) {
  if (s.size() < 5 || s[1] != 'x' || s[2] != '{') return 0;
  uint32_t cp = 0;
  size_t i = 3;
  for (; i < s.size() && i < 9 && hex_value(s[i]) >= 0; ++i) cp = cp * 16 + static_cast<uint32_t>(hex_value(s[i]));
  if (i == 3 || i >= s.size() || s[i] != '}') return 0;
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  append_utf8(out, cp);
  return i + 1;
}

// utf-8-addr-xtext / utf-8-addr-unitext (RFC 6533 3): printable ASCII,
// "\x{HEX}" escapes, raw UTF-8 when SMTPUTF8 is in effect; "+XX" is also
// accepted because clients reuse their xtext encoder for this type.
std::optional<std::string> decode_utf8_addr(std::string_view in, bool allow_raw_utf8) {
  std::string out;
  for (size_t i = 0; i < in.size();) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '\\') {
      const size_t n = decode_unicode_escape(in.substr(i), out);
      if (n == 0) return std::nullopt;
      i += n;
    } else if (c == '+') {
      if (i + 2 >= in.size() || hex_value(in[i + 1]) < 0 || hex_value(in[i + 2]) < 0) return std::nullopt;
      out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
      i += 3;
    } else if ((c >= 33 && c <= 126 && c != '=') || (c >= 0x80 && allow_raw_utf8)) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// ORCPT=addr-type;value (RFC 3461 4.2, RFC 6533 3).
bool apply_orcpt(const Param& p, bool smtputf8, RcptCommand& r, ParamErrors& errs) {
  if (!require_value(p, errs)) return false;
  const size_t semi = p.value.find(';');
  if (semi == std::string_view::npos || !is_addr_type(p.value.substr(0, semi))) return errs.bad("invalid ORCPT value");
  std::string type = to_lower(p.value.substr(0, semi));
  const std::string_view encoded = p.value.substr(semi + 1);
  auto decoded = type == "utf-8" ? decode_utf8_addr(encoded, smtputf8) : decode_xtext(encoded);
  if (!decoded || decoded->empty() || decoded->size() > kMaxOrcpt || has_control(*decoded) ||
      !is_valid_utf8(*decoded))
    return errs.bad("invalid ORCPT value");
  r.orcpt_type = std::move(type);
  r.orcpt_address = std::move(*decoded);
  return true;
}

bool apply_rcpt_param(const Param& p, bool smtputf8, unsigned& seen, RcptCommand& r, ParamErrors& errs) {
  const int k = match_keyword(p, kRcptKeys, std::size(kRcptKeys), seen, errs);
  if (k < 0) return false;
  return kRcptKeys[k].bit == kNotify ? apply_notify(p, r, errs) : apply_orcpt(p, smtputf8, r, errs);
}

// "FROM:" / "TO:" then optional spaces then the path; returns the text after
// the keyword, or nullopt if the keyword is missing.
std::optional<std::string_view> after_keyword(std::string_view argument, std::string_view keyword) {
  if (!istarts_with(argument, keyword)) return std::nullopt;
  return skip_spaces(argument.substr(keyword.size()));
}

// Text after the path: empty, or parameters introduced by a space.
bool split_params(std::string_view rest, std::string_view& params) {
  if (!rest.empty() && rest.front() != ' ') return false;
  params = rest;
  return true;
}

}  // namespace

CommandLine split_command(std::string_view line) {
  CommandLine cl;
  const size_t sp = line.find(' ');
  cl.verb_text = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp);
  rest = skip_spaces(rest);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  cl.argument = rest;
  cl.verb = lookup_verb(cl.verb_text);
  return cl;
}

bool has_forbidden_bytes(std::string_view line) {
  for (char c : line) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return true;
  }
  return false;
}

// MAIL and RCPT share their shape: keyword, "<path>", then parameters; only
// the path options and the parameter table differ.
template <class Cmd, class ApplyParam>
ParseResult<Cmd> parse_envelope_command(std::string_view argument, std::string_view keyword, const char* hint,
                                        const PathOptions& options, ApplyParam apply_param) {
  const auto text = after_keyword(argument, keyword);
  if (!text || text->empty() || text->front() != '<') return fail<Cmd>(ParseErrorKind::Syntax, hint);
  const PathResult path = parse_path(*text, options);
  ParseResult<Cmd> r;
  if (!path.ok) {
    r.error = address_error(path.error);
    return r;
  }
  r.value.path = path.value.path;
  std::string_view params;
  if (!split_params(text->substr(path.value.consumed), params))
    return fail<Cmd>(ParseErrorKind::Syntax, "expected a space after the address");
  unsigned seen = 0;
  ParamErrors errs;
  for (Param p; next_param(params, p);)
    if (!apply_param(p, seen, r.value, errs)) {
      r.error = errs.error;
      return r;
    }
  r.ok = true;
  return r;
}

ParseResult<MailCommand> parse_mail(std::string_view argument, bool utf8_offered) {
  // UTF-8 is parsed whenever it could be legal; whether it is (SMTPUTF8
  // present) is only known after the parameters.
  auto r = parse_envelope_command<MailCommand>(
      argument, "FROM:", "expected FROM:<address>", PathOptions{.allow_null = true, .allow_utf8 = utf8_offered},
      [&](const Param& p, unsigned& seen, MailCommand& m, ParamErrors& errs) {
        return apply_mail_param(p, utf8_offered, seen, m, errs);
      });
  if (r.ok && r.value.path.needs_smtputf8 && !r.value.smtputf8)
    return fail<MailCommand>(ParseErrorKind::Utf8WithoutSmtpUtf8, "non-ASCII address requires SMTPUTF8");
  return r;
}

ParseResult<RcptCommand> parse_rcpt(std::string_view argument, bool smtputf8) {
  return parse_envelope_command<RcptCommand>(
      argument, "TO:", "expected TO:<address>", PathOptions{.allow_postmaster = true, .allow_utf8 = smtputf8},
      [&](const Param& p, unsigned& seen, RcptCommand& c, ParamErrors& errs) {
        return apply_rcpt_param(p, smtputf8, seen, c, errs);
      });
}

ParseResult<BdatCommand> parse_bdat(std::string_view argument) {
  size_t digits = 0;
  while (digits < argument.size() && is_digit(argument[digits])) ++digits;
  if (digits == 0) return fail<BdatCommand>(ParseErrorKind::Syntax, "BDAT requires a chunk size");
  const auto size = parse_decimal(argument.substr(0, digits), std::numeric_limits<int64_t>::max());
  if (!size) return fail<BdatCommand>(ParseErrorKind::BadParameterValue, "chunk size too large");
  std::string_view rest = argument.substr(digits);
  if (!rest.empty() && rest.front() != ' ') return fail<BdatCommand>(ParseErrorKind::Syntax, "invalid chunk size");
  rest = skip_spaces(rest);
  ParseResult<BdatCommand> r;
  r.value.size = *size;
  if (!rest.empty()) {
    while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
    if (!iequals(rest, "LAST")) return fail<BdatCommand>(ParseErrorKind::Syntax, "expected BDAT <size> [LAST]");
    r.value.last = true;
  }
  r.ok = true;
  return r;
}

std::optional<std::string> decode_xtext(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '+') {
      if (i + 2 >= in.size() || hex_value(in[i + 1]) < 0 || hex_value(in[i + 2]) < 0) return std::nullopt;
      out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
      i += 2;
    } else if (c >= 33 && c <= 126 && c != '=') {
      out.push_back(static_cast<char>(c));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string encode_xtext(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 33 && c <= 126 && c != '+' && c != '=') {
      out.push_back(ch);
    } else {
      out.push_back('+');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace volley::smtp
