// SMTP command-line parsing (RFC 5321 4.1, ESMTP parameters of RFC 1870,
// 6152, 6531, 3461, 4954, 3030). Pure functions over one command line with its
// CRLF already removed. The session decides what a parse error means for the
// dialogue; these functions only say what is wrong.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/address.hpp"

namespace volley::smtp {

enum class Verb {
  Helo, Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Vrfy, Expn, Help, Quit, StartTls, Auth,
  HttpMethod,  // GET / POST / HEAD / PUT / CONNECT ...: a web client or proxy abuse on the SMTP port
  Unknown,
};

struct CommandLine {
  Verb verb = Verb::Unknown;
  std::string_view verb_text;  // as sent, for logs
  std::string_view argument;   // everything after the verb and its separating space(s); may be empty
};

// Splits a command line. Verbs are case-insensitive. "MAIL FROM:..." and
// "RCPT TO:..." are recognised by their first word only; the "FROM:"/"TO:"
// part is checked by parse_mail / parse_rcpt.
CommandLine split_command(std::string_view line);

// True if the line holds bytes no SMTP command may contain: NUL, other C0
// controls except TAB, DEL. (8-bit bytes are judged by the address parser,
// which allows UTF-8 only with SMTPUTF8.)
bool has_forbidden_bytes(std::string_view line);

enum class ParseErrorKind {
  Syntax,               // 501 5.5.4 / 501 5.5.2
  BadAddress,           // 501 5.1.7 (sender) / 501 5.1.3 (recipient)
  AddressTooLong,       // 501 5.1.7 / 501 5.1.3 too
  Utf8WithoutSmtpUtf8,  // 553 5.6.7 (RFC 6531 3.5)
  UnknownParameter,     // 555 5.5.4
  BadParameterValue,    // 501 5.5.4
  DuplicateParameter,   // 501 5.5.4
};

struct ParseError {
  ParseErrorKind kind = ParseErrorKind::Syntax;
  std::string detail;  // safe to send back to the client (no raw bytes echoed)
};

enum class BodyType { SevenBit, EightBitMime };
enum class DsnRet { Unspecified, Full, Headers };
enum DsnNotify : unsigned {
  kNotifyUnspecified = 0,
  kNotifyNever = 1,
  kNotifySuccess = 2,
  kNotifyFailure = 4,
  kNotifyDelay = 8,
};

struct MailCommand {
  Path path;
  std::optional<uint64_t> size;   // SIZE=
  BodyType body = BodyType::SevenBit;
  bool smtputf8 = false;          // SMTPUTF8
  DsnRet ret = DsnRet::Unspecified;
  std::string envid;              // ENVID= decoded from xtext (printable ASCII, <= 100 chars)
  std::string auth;               // AUTH= decoded from xtext ("<>" kept as "<>"); informational only
};

struct RcptCommand {
  Path path;
  unsigned notify = kNotifyUnspecified;  // NEVER alone, or a set of SUCCESS/FAILURE/DELAY
  std::string orcpt_type;         // "rfc822", "utf-8" (lowercased)
  std::string orcpt_address;      // decoded from xtext / utf-8-addr-xtext
};

struct BdatCommand {
  uint64_t size = 0;
  bool last = false;
};

template <class T>
struct ParseResult {
  bool ok = false;
  T value{};
  ParseError error{};
};

// `argument` is what split_command returned: "FROM:<a@b> SIZE=100 BODY=8BITMIME".
// Tolerates spaces between "FROM:" and "<" (common client behaviour) but
// requires the angle brackets. Parameters: keyword[=value], keywords
// case-insensitive, each at most once. `utf8_offered` = the server advertised
// SMTPUTF8 (so the SMTPUTF8 parameter is legal).
ParseResult<MailCommand> parse_mail(std::string_view argument, bool utf8_offered = true);
// RCPT TO:<...> [NOTIFY=...] [ORCPT=...]. `smtputf8` = the transaction's MAIL
// carried SMTPUTF8, so UTF-8 addresses are allowed.
ParseResult<RcptCommand> parse_rcpt(std::string_view argument, bool smtputf8);
// "BDAT <chunk-size> [LAST]"; chunk-size is 1*DIGIT; a value above 2^63 is BadParameterValue.
ParseResult<BdatCommand> parse_bdat(std::string_view argument);

// xtext (RFC 3461 4): "+XX" hex escapes, printable ASCII otherwise, no '=' or '+' unescaped.
std::optional<std::string> decode_xtext(std::string_view in);
std::string encode_xtext(std::string_view in);

}  // namespace volley::smtp
