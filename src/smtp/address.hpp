// RFC 5321 / RFC 6531 path and mailbox parsing. Pure: bytes in, checked value
// out. This is the only place an envelope address is interpreted; anything it
// refuses never reaches policy, storage or logs unescaped (CVE-2020-7247
// class: "MAIL FROM:<;sleep 5;>" is a syntax error here).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace volley::smtp {

struct Mailbox {
  std::string local;   // local part, unquoted form (quotes and quoted-pairs removed)
  std::string domain;  // domain as sent (not lowercased); an address literal keeps its brackets: "[192.0.2.1]"

  bool domain_is_literal() const { return !domain.empty() && domain.front() == '['; }
  // Canonical text: local part re-quoted when it is not a valid dot-string
  // ("a b"@x), "@", domain. Round-trips through parse_path.
  std::string to_string() const;
  // Lowercased to_string(), for lookups (users, aliases, local domains).
  std::string lookup_key() const;
};

enum class PathKind { Null, Postmaster, Mailbox };

struct Path {
  PathKind kind = PathKind::Null;
  Mailbox mailbox;            // empty for Null; for Postmaster local="Postmaster" (as sent), domain=""
  bool had_source_route = false;  // "<@a,@b:user@c>": route accepted and ignored (RFC 5321 4.1.1.3)
  bool needs_smtputf8 = false;    // non-ASCII in local part or domain
};

enum class AddressErrorKind {
  Syntax,          // not a valid path
  TooLong,         // local part > 64, domain > 255, path > 256 octets (RFC 5321 4.5.3.1)
  Utf8NotAllowed,  // non-ASCII without SMTPUTF8 on the MAIL command
};

struct AddressError {
  AddressErrorKind kind;
  std::string detail;  // human-readable, safe to echo (no raw client bytes)
};

struct PathParse {
  Path path;
  size_t consumed = 0;  // bytes of input up to and including '>'
};

struct PathOptions {
  bool allow_null = false;        // MAIL FROM:<>
  bool allow_postmaster = false;  // RCPT TO:<Postmaster> (case-insensitive, no domain)
  bool allow_utf8 = false;        // SMTPUTF8 in effect: UTF-8 in local part and domain labels
};

// Parses "<...>" at the start of `text` (no leading spaces). Accepts:
//   <>                      (allow_null)
//   <Postmaster>            (allow_postmaster, any case)
//   <local@domain>          local = Dot-string | Quoted-string; domain = dotted labels or [IPv4] / [IPv6:...]
//   <@a,@b:local@domain>    source route: parsed, flagged, ignored
// Refuses: missing brackets, empty local part, trailing or doubled dots, a
// domain with a trailing dot, control characters, NUL, unbalanced quotes,
// shell metacharacters outside quotes (they are not atext anyway: ; < > ( ) etc.),
// bad address literals, labels > 63 chars or starting/ending with '-'.
// Quoted local parts may contain '@', ' ' etc. — they stay local parts and are
// never treated as routing.
struct PathResult {
  bool ok = false;
  PathParse value;
  AddressError error{AddressErrorKind::Syntax, ""};
};
PathResult parse_path(std::string_view text, const PathOptions& options);

// "user@domain" without brackets (config file, CLI, SASL user names): the same
// mailbox grammar, no route, no null. Returns nullopt-like ok=false on error.
PathResult parse_mailbox(std::string_view text, bool allow_utf8 = true);

// Why `mb` cannot name a local mailbox (a login name and a Maildir directory
// data_dir/mail/<domain>/<local>/), or nullptr when it can. Beyond the SMTP
// grammar: the local part must be a dot-atom (never needs quoting), without
// '/' (a path separator); the domain must be a name, not an address literal.
// Dot-atoms already exclude a leading '.', "..", NUL and control characters.
const char* mailbox_name_problem(const Mailbox& mb);

// The one rule for the HELO/EHLO argument (RFC 5321 4.1.1.1: Domain /
// address-literal), as a pure function:
//  * a domain name of dot-separated labels (letters, digits, '-' inside),
//    each <= 63 octets, <= 255 in all, no trailing dot;
//  * RFC 6531 U-labels as well-formed UTF-8 (no C1 controls) are accepted
//    whether or not the client will use SMTPUTF8: HELO is informational
//    and "héllo.test" is a real name;
//  * '_' is tolerated in labels (Windows host names carry it; Postfix
//    accepts it too);
//  * or an address literal "[192.0.2.1]" / "[IPv6:2001:db8::1]" that is a
//    real address (no "[999.1.1.1]", no unterminated "[127.0.0.1").
// Nothing else: no spaces, '<', '>', controls or extra text.
bool is_valid_helo_argument(std::string_view arg);

// True for a syntactically valid domain name (not a literal), e.g. for config
// checks of [domains] local.
bool is_valid_domain(std::string_view domain, bool allow_utf8 = false);

// True if `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF). Shared with the ESMTP parameter parser.
bool is_valid_utf8(std::string_view s);

}  // namespace volley::smtp
