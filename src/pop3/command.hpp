// POP3 command-line parsing (RFC 1939 3, RFC 2449, RFC 2595, RFC 5034).
// Pure functions over one command line with its CRLF already removed; the
// session decides what a parse result means for the dialogue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace volley::pop3 {

// Line limits, including CRLF. RFC 2449 4 caps a command at 255 octets, too
// little for an AUTH initial response; like Dovecot (pop3-login's 1 KiB input
// buffer, 8 KiB while authenticating) we allow 1024 for commands and 8192 for
// AUTH lines and SASL continuations. A longer line is answered -ERR and
// skipped to its end.
inline constexpr size_t kMaxCommandLine = 1024;
inline constexpr size_t kMaxAuthLine = 8192;

enum class Verb {
  Capa, Stls, User, Pass, Auth, Apop,
  Stat, List, Uidl, Top, Retr, Dele, Rset, Noop, Quit,
  Unknown,
};

struct CommandLine {
  Verb verb = Verb::Unknown;
  std::string_view keyword;   // as sent (for logs)
  // Everything after the keyword and the one space that ends it, unchanged:
  // PASS takes it whole (RFC 1939 7: a password may contain spaces).
  std::string_view rest;
  // rest split on spaces: at most kMaxArgs words; `extra` counts words beyond.
  static constexpr size_t kMaxArgs = 2;
  std::string_view args[kMaxArgs];
  size_t arg_count = 0;
  bool extra_args = false;
};

CommandLine parse_command(std::string_view line);

// True if the line holds bytes no POP3 command may contain: NUL, C0 controls
// other than TAB, DEL. 8-bit bytes are allowed (UTF-8 passwords).
bool has_forbidden_bytes(std::string_view line);

// A message number (RFC 1939: "msg"): 1..kMaxMessageNumber, decimal digits
// only, no sign, no leading zero beyond "0" itself being refused.
inline constexpr uint32_t kMaxMessageNumber = 100'000'000;
std::optional<uint32_t> parse_message_number(std::string_view arg);
// TOP's line count: 0..UINT32_MAX (larger counts are clamped: "all lines").
std::optional<uint64_t> parse_line_count(std::string_view arg);

const char* verb_name(Verb v);

}  // namespace volley::pop3
