// RFC 5321 4.1.2 path grammar, with the RFC 6531 UTF-8 extensions. A single
// left-to-right pass over the bytes (linear work, no backtracking); every
// refusal carries a fixed message so no client byte is ever echoed back.
#include "smtp/address.hpp"

#include <arpa/inet.h>

#include <array>

#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace volley::smtp {
namespace {

// RFC 5321 4.5.3.1 limits, in octets as sent.
constexpr size_t kMaxLocal = 64;
constexpr size_t kMaxDomain = 255;
constexpr size_t kMaxPath = 256;  // including the angle brackets
constexpr size_t kMaxLabel = 63;  // RFC 1035 2.3.4

constexpr bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(int c) { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(int c) { return is_alpha(c) || is_digit(c); }

// RFC 5322 atext (ASCII part). '`', '$', '|', '{', '}' are atext: they are
// plain data here, addresses never reach a shell.
constexpr bool is_atext(int c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

struct Scanner {
  std::string_view in;
  bool allow_utf8 = false;
  bool allow_underscore = false;  // HELO/EHLO only: see is_valid_helo_argument
  size_t pos = 0;
  bool non_ascii = false;
  AddressError error{AddressErrorKind::Syntax, ""};

  bool at_end() const { return pos >= in.size(); }
  // -1 at the end, so a NUL byte is never mistaken for the end of input.
  int peek() const { return at_end() ? -1 : static_cast<unsigned char>(in[pos]); }
  bool accept(char c) {
    if (peek() != static_cast<unsigned char>(c)) return false;
    ++pos;
    return true;
  }
  bool fail(AddressErrorKind kind, const char* detail) {
    error = AddressError{kind, detail};
    return false;
  }
  bool syntax(const char* detail) { return fail(AddressErrorKind::Syntax, detail); }

  // Consumes one non-ASCII character where RFC 6531 allows UTF-8.
  bool take_utf8(std::string& out) {
    if (!allow_utf8) return fail(AddressErrorKind::Utf8NotAllowed, "non-ASCII address requires SMTPUTF8");
    const size_t n = utf8_sequence_length(in, pos);
    if (n == 0) return syntax("malformed UTF-8 in address");
    if (is_c1_control(in, pos)) return syntax("control character in address");
    out.append(in.substr(pos, n));
    pos += n;
    non_ascii = true;
    return true;
  }
};

// Dot-string = Atom *("." Atom): rejects empty, leading, trailing, doubled dots.
bool parse_dot_string(Scanner& sc, std::string& out) {
  for (;;) {
    const size_t atom_start = out.size();
    for (int c = sc.peek(); c >= 0; c = sc.peek()) {
      if (c >= 0x80) {
        if (!sc.take_utf8(out)) return false;
      } else if (is_atext(c)) {
        out.push_back(static_cast<char>(c));
        ++sc.pos;
      } else {
        break;
      }
    }
    if (out.size() == atom_start) return sc.syntax("invalid local part");
    if (!sc.accept('.')) return true;
    out.push_back('.');
  }
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE; stored without quotes and
// backslashes. Printable ASCII (and UTF-8 under SMTPUTF8) only.
bool parse_quoted_string(Scanner& sc, std::string& out) {
  ++sc.pos;  // opening quote
  for (;;) {
    int c = sc.peek();
    if (c < 0) return sc.syntax("unterminated quoted string");
    if (c == '"') break;
    if (c >= 0x80) {
      if (!sc.take_utf8(out)) return false;
      continue;
    }
    if (c == '\\') {  // quoted-pairSMTP = "\" %d32-126
      ++sc.pos;
      c = sc.peek();
      if (c < 32 || c > 126) return sc.syntax("invalid quoted pair in local part");
    } else if (c < 32 || c == 127) {
      return sc.syntax("control character in quoted local part");
    }
    out.push_back(static_cast<char>(c));
    ++sc.pos;
  }
  ++sc.pos;  // closing quote
  if (out.empty()) return sc.syntax("empty local part");
  return true;
}

bool parse_local_part(Scanner& sc, std::string& out) {
  return sc.peek() == '"' ? parse_quoted_string(sc, out) : parse_dot_string(sc, out);
}

// sub-domain = Let-dig [Ldh-str], or a U-label under SMTPUTF8. The 63 limit
// is applied to the octets as sent (a U-label's A-label form is not computed).
bool parse_label(Scanner& sc, std::string& out) {
  const size_t start = sc.pos;
  for (int c = sc.peek(); c >= 0; c = sc.peek()) {
    if (c >= 0x80) {
      if (!sc.take_utf8(out)) return false;
    } else if (is_alnum(c) || c == '-' || (c == '_' && sc.allow_underscore)) {
      out.push_back(static_cast<char>(c));
      ++sc.pos;
    } else {
      break;
    }
  }
  const size_t len = sc.pos - start;
  if (len == 0) return sc.syntax("empty domain label");
  if (len > kMaxLabel) return sc.syntax("domain label longer than 63 octets");
  if (sc.in[start] == '-' || sc.in[sc.pos - 1] == '-') return sc.syntax("domain label starts or ends with a hyphen");
  return true;
}

// Domain = sub-domain *("." sub-domain). No trailing dot: "example.com." is
// refused because the empty label after the dot fails.
bool parse_domain_name(Scanner& sc, std::string& out) {
  for (;;) {
    if (!parse_label(sc, out)) return false;
    if (!sc.accept('.')) return true;
    out.push_back('.');
  }
}

// IPv4-address-literal = Snum 3("." Snum). Leading zeros are refused: some
// resolvers read "010" as octal, so such a literal is ambiguous.
bool is_ipv4_literal(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    const size_t start = i;
    unsigned value = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) value = value * 10 + static_cast<unsigned>(s[i++] - '0');
    const size_t len = i - start;
    if (len == 0 || value > 255 || (len > 1 && s[start] == '0')) return false;
    ++parts;
    if (parts < 4 && (i >= s.size() || s[i++] != '.')) return false;
  }
  return i == s.size();
}

// IPv6-addr of RFC 5321 (full, compressed, and the IPv4-embedded forms);
// inet_pton does the validation once the character set is known to be sane.
bool is_ipv6_literal(std::string_view s) {
  std::array<char, 64> buf{};
  if (s.empty() || s.size() >= buf.size()) return false;
  for (char c : s) {
    const bool hex = is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') return false;
  }
  s.copy(buf.data(), s.size());
  in6_addr addr{};
  return inet_pton(AF_INET6, buf.data(), &addr) == 1;
}

// address-literal = "[" ( IPv4 / "IPv6:" IPv6 ) "]"; the General-address-
// literal form (tag:content) is refused: nothing routes to it.
bool parse_address_literal(Scanner& sc, std::string& out) {
  const size_t start = sc.pos;
  const size_t close = sc.in.find(']', start + 1);
  if (close == std::string_view::npos) return sc.syntax("unterminated address literal");
  const std::string_view inner = sc.in.substr(start + 1, close - start - 1);
  const bool ok = istarts_with(inner, "IPv6:") ? is_ipv6_literal(inner.substr(5)) : is_ipv4_literal(inner);
  if (!ok) return sc.syntax("invalid address literal");
  out.append(sc.in.substr(start, close + 1 - start));
  sc.pos = close + 1;
  return true;
}

bool parse_domain(Scanner& sc, std::string& out) {
  return sc.peek() == '[' ? parse_address_literal(sc, out) : parse_domain_name(sc, out);
}

// A-d-l ":" = "@a,@b:" — validated (it is part of the grammar) then dropped.
bool parse_source_route(Scanner& sc) {
  do {
    if (!sc.accept('@')) return sc.syntax("invalid source route");
    std::string ignored;
    if (!parse_domain_name(sc, ignored)) return false;
  } while (sc.accept(','));
  if (!sc.accept(':')) return sc.syntax("invalid source route");
  return true;
}

// Mailbox = Local-part "@" ( Domain / address-literal ). Lengths are checked
// by the caller once the whole syntax is known to be right.
struct MailboxSpan {
  size_t local_octets = 0;
  size_t domain_octets = 0;
};

bool parse_mailbox_syntax(Scanner& sc, Mailbox& mb, MailboxSpan& span) {
  const size_t local_start = sc.pos;
  if (!parse_local_part(sc, mb.local)) return false;
  span.local_octets = sc.pos - local_start;
  if (!sc.accept('@')) return sc.syntax("missing @ in address");
  const size_t domain_start = sc.pos;
  if (!parse_domain(sc, mb.domain)) return false;
  span.domain_octets = sc.pos - domain_start;
  return true;
}

bool check_lengths(Scanner& sc, const MailboxSpan& span, size_t total, size_t max_total) {
  if (span.local_octets > kMaxLocal) return sc.fail(AddressErrorKind::TooLong, "local part longer than 64 octets");
  if (span.domain_octets > kMaxDomain) return sc.fail(AddressErrorKind::TooLong, "domain longer than 255 octets");
  if (total > max_total) return sc.fail(AddressErrorKind::TooLong, "path longer than 256 octets");
  return true;
}

PathResult failure(const AddressError& error) {
  PathResult r;
  r.error = error;
  return r;
}

PathResult success(Path path, size_t consumed) {
  PathResult r;
  r.ok = true;
  r.value.path = std::move(path);
  r.value.consumed = consumed;
  return r;
}

// True if the local part must be quoted to be read back as the same string.
bool is_dot_string(std::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.') return false;
  char prev = 0;
  for (char c : local) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '.' && prev == '.') return false;
    if (c != '.' && u < 0x80 && !is_atext(u)) return false;
    prev = c;
  }
  return true;
}

void append_local(std::string& out, std::string_view local) {
  if (is_dot_string(local)) {
    out.append(local);
    return;
  }
  out.push_back('"');
  for (char c : local) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

std::string Mailbox::to_string() const {
  std::string out;
  out.reserve(local.size() + domain.size() + 3);
  append_local(out, local);
  if (!domain.empty()) {  // a Postmaster path has no domain: "Postmaster"
    out.push_back('@');
    out.append(domain);
  }
  return out;
}

std::string Mailbox::lookup_key() const { return to_lower(to_string()); }

PathResult parse_path(std::string_view text, const PathOptions& options) {
  Scanner sc{text, options.allow_utf8};
  if (!sc.accept('<')) return failure({AddressErrorKind::Syntax, "address must be enclosed in <>"});
  if (sc.accept('>')) {
    if (!options.allow_null) return failure({AddressErrorKind::Syntax, "null path not allowed here"});
    return success(Path{}, sc.pos);
  }
  // "<Postmaster>" is its own production (RFC 5321 4.1.1.3), not a mailbox.
  if (options.allow_postmaster && istarts_with(text.substr(1), "Postmaster>")) {
    Path path;
    path.kind = PathKind::Postmaster;
    path.mailbox.local = std::string(text.substr(1, 10));
    return success(std::move(path), 12);
  }
  Path path;
  path.kind = PathKind::Mailbox;
  if (sc.peek() == '@') {
    if (!parse_source_route(sc)) return failure(sc.error);
    path.had_source_route = true;
    sc.non_ascii = false;  // the route is dropped: only the mailbox decides
  }
  MailboxSpan span;
  if (!parse_mailbox_syntax(sc, path.mailbox, span)) return failure(sc.error);
  if (!sc.accept('>')) return failure({AddressErrorKind::Syntax, "address must be enclosed in <>"});
  if (!check_lengths(sc, span, sc.pos, kMaxPath)) return failure(sc.error);
  path.needs_smtputf8 = sc.non_ascii;
  return success(std::move(path), sc.pos);
}

PathResult parse_mailbox(std::string_view text, bool allow_utf8) {
  Scanner sc{text, allow_utf8};
  Path path;
  path.kind = PathKind::Mailbox;
  MailboxSpan span;
  if (!parse_mailbox_syntax(sc, path.mailbox, span)) return failure(sc.error);
  if (!sc.at_end()) return failure({AddressErrorKind::Syntax, "unexpected characters after address"});
  // Same limit as the bracketed path, minus the two brackets.
  if (!check_lengths(sc, span, text.size(), kMaxPath - 2)) return failure(sc.error);
  path.needs_smtputf8 = sc.non_ascii;
  return success(std::move(path), sc.pos);
}

const char* mailbox_name_problem(const Mailbox& mb) {
  if (mb.domain.empty() || mb.domain_is_literal()) return "the domain must be a domain name";
  if (!is_dot_string(mb.local)) return "the local part must be a dot-atom (no quotes, spaces, or leading, trailing or double dots)";
  if (mb.local.find('/') != std::string::npos) return "'/' cannot appear in a mailbox name";
  return nullptr;
}

bool is_valid_helo_argument(std::string_view arg) {
  if (arg.empty() || arg.size() > kMaxDomain) return false;
  Scanner sc{arg, /*allow_utf8=*/true};
  sc.allow_underscore = true;
  std::string ignored;
  const bool parsed = arg.front() == '[' ? parse_address_literal(sc, ignored) : parse_domain_name(sc, ignored);
  return parsed && sc.at_end();
}

bool is_valid_domain(std::string_view domain, bool allow_utf8) {
  Scanner sc{domain, allow_utf8};
  std::string ignored;
  return parse_domain_name(sc, ignored) && sc.at_end() && domain.size() <= kMaxDomain;
}

bool is_valid_utf8(std::string_view s) { return volley::is_valid_utf8(s); }

}  // namespace volley::smtp
