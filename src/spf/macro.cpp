// See macro.hpp. One tokenizer serves checking and expansion, so a string
// that passed the check expands the way it was checked.
#include "spf/macro.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "spf/limits.hpp"
#include "util/strings.hpp"

namespace volley::spf {
namespace {

bool is_delimiter(char c) {
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}
bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// One piece of a macro-string.
struct Token {
  enum Kind { Literal, Macro } kind = Literal;
  std::string_view literal;  // Literal: the bytes, or "%", " ", "%20" for the escapes
  char letter = 0;           // Macro: as written (uppercase = URL-escape)
  size_t digits = 0;         // 0 = all parts
  bool reverse = false;
  std::string delimiters;  // "" = "."

  static Token literal_text(std::string_view text) {
    Token t;
    t.literal = text;
    return t;
  }
};

// Calls `each(token)` for every token; an error names the first bad spot.
template <class Each>
Result<void> tokenize(std::string_view text, bool explanation, Each&& each) {
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '%') {
      // explain-string = *( macro-string / SP ): spaces only in explanations.
      const unsigned char lowest = explanation ? 0x20 : 0x21;
      size_t j = i;
      while (j < text.size() && text[j] != '%') {
        const auto u = static_cast<unsigned char>(text[j]);
        if (u < lowest || u > 0x7e) return Error(ErrorCode::Invalid, "invalid character in macro string");
        ++j;
      }
      each(Token::literal_text(text.substr(i, j - i)));
      i = j;
      continue;
    }
    if (i + 1 >= text.size()) return Error(ErrorCode::Invalid, "'%' at the end of a macro string");
    const char next = text[i + 1];
    if (next == '%' || next == '_' || next == '-') {
      each(Token::literal_text(next == '%' ? "%" : next == '_' ? " " : "%20"));
      i += 2;
      continue;
    }
    if (next != '{') return Error(ErrorCode::Invalid, "'%' not followed by '{', '%', '_' or '-'");
    size_t j = i + 2;
    if (j >= text.size()) return Error(ErrorCode::Invalid, "unterminated macro");
    Token t;
    t.kind = Token::Macro;
    t.letter = text[j++];
    const char lower = ascii_lower(t.letter);
    if (std::string_view("slodiphv").find(lower) == std::string_view::npos) {
      if (std::string_view("crt").find(lower) == std::string_view::npos)
        return Error(ErrorCode::Invalid, concat("unknown macro letter '", printable(std::string_view(&t.letter, 1)), "'"));
      if (!explanation) return Error(ErrorCode::Invalid, "macros c, r and t are only allowed in explanations");
    }
    bool has_digits = false;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') {
      has_digits = true;
      // Anything past the 128 labels a name can have means "all".
      t.digits = std::min<size_t>(t.digits * 10 + static_cast<size_t>(text[j] - '0'), 1000);
      ++j;
    }
    if (has_digits && t.digits == 0) return Error(ErrorCode::Invalid, "macro digit transformer of 0");
    if (j < text.size() && (text[j] == 'r' || text[j] == 'R')) {
      t.reverse = true;
      ++j;
    }
    while (j < text.size() && is_delimiter(text[j])) t.delimiters.push_back(text[j++]);
    if (j >= text.size() || text[j] != '}') return Error(ErrorCode::Invalid, "malformed macro (expected '}')");
    each(t);
    i = j + 1;
  }
  return {};
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool is_toplabel(std::string_view s) {
  if (s.empty()) return false;
  bool alpha = false, hyphen = false;
  for (char c : s) {
    if (c == '-') hyphen = true;
    else if (!is_alnum(c)) return false;
    else if (is_alpha(c)) alpha = true;
  }
  if (!hyphen) return alpha;
  return s.front() != '-' && s.back() != '-';
}

std::string url_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += {'%', kHex[u >> 4], kHex[u & 15]};
    }
  }
  return out;
}

const std::string& value_of(char letter, const MacroValues& v) {
  switch (ascii_lower(letter)) {
    case 's': return v.sender;
    case 'l': return v.local;
    case 'o': return v.sender_domain;
    case 'd': return v.domain;
    case 'i': return v.ip;
    case 'p': return v.ptr;
    case 'v': return v.ip_version;
    case 'h': return v.helo;
    case 'c': return v.client_ip;
    case 'r': return v.receiver;
    default: return v.timestamp;
  }
}

// RFC 7208 7.3: split on the delimiters, reverse, keep the rightmost N, join with ".".
std::string transform(const std::string& value, const Token& t) {
  const std::string_view delims = t.delimiters.empty() ? std::string_view(".") : std::string_view(t.delimiters);
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || delims.find(value[i]) != std::string_view::npos) {
      parts.emplace_back(value.data() + start, i - start);
      start = i + 1;
    }
  }
  if (t.reverse) std::reverse(parts.begin(), parts.end());
  size_t first = 0;
  if (t.digits != 0 && t.digits < parts.size()) first = parts.size() - t.digits;
  std::string out;
  for (size_t i = first; i < parts.size(); ++i) {
    if (i != first) out.push_back('.');
    out.append(parts[i]);
  }
  return out;
}

}  // namespace

// %{i}: dotted quad, or the 32 nibbles of an IPv6 address separated by dots.
std::string macro_ip(const net::IpAddress& ip) {
  if (ip.is_v4) return ip.to_string();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : ip.bytes) {
    if (!out.empty()) out.push_back('.');
    out += {kHex[b >> 4], '.', kHex[b & 15]};
  }
  return out;
}

Result<void> check_macro_string(std::string_view text, bool explanation) {
  return tokenize(text, explanation, [](const Token&) {});
}

Result<void> check_domain_spec(std::string_view text) {
  std::optional<Token> last;
  auto r = tokenize(text, false, [&](const Token& t) { last = t; });
  if (!r) return r;
  if (!last) return Error(ErrorCode::Invalid, "empty domain-spec");
  if (last->kind == Token::Macro) return {};
  // Ends in literal text: "." toplabel ["."], where the toplabel is written
  // literally (not produced by "%-" and the like).
  std::string_view s = text;
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  const size_t dot = s.rfind('.');
  if (dot == std::string_view::npos) return Error(ErrorCode::Invalid, "domain-spec is not a fully qualified name");
  const std::string_view top = s.substr(dot + 1);
  if (!is_toplabel(top)) return Error(ErrorCode::Invalid, concat("invalid top label in domain-spec ", quoted(text)));
  return {};
}

Result<std::string> expand_macros(std::string_view text, const MacroValues& values) {
  std::string out;
  bool too_long = false;
  auto r = tokenize(text, true, [&](const Token& t) {
    if (too_long) return;
    if (t.kind == Token::Literal) {
      out.append(t.literal);
    } else {
      std::string v = transform(value_of(t.letter, values), t);
      out += (t.letter >= 'A' && t.letter <= 'Z') ? url_escape(v) : v;
    }
    too_long = out.size() > limits::kMaxExpansionBytes;
  });
  if (!r) return r.error();
  if (too_long) return Error(ErrorCode::Invalid, "macro expansion too long");
  return out;
}

std::string domain_to_query(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  while (name.size() > limits::kMaxDomainName) {
    const size_t dot = name.find('.');
    if (dot == std::string::npos) break;
    name.erase(0, dot + 1);
  }
  return name;
}

bool is_valid_lookup_name(std::string_view name) {
  if (name.empty() || name.size() > limits::kMaxDomainName) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    const size_t len = (dot == std::string_view::npos ? name.size() : dot) - start;
    if (len == 0 || len > 63) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace volley::spf
