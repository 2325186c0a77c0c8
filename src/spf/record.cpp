// See record.hpp. The grammar is RFC 7208 section 12; names are matched
// case-insensitively, and unknown modifiers are checked as macro strings and
// then ignored (6).
#include "spf/record.hpp"

#include "spf/limits.hpp"
#include "spf/macro.hpp"
#include "util/strings.hpp"

namespace volley::spf {
namespace {

Error invalid(std::string_view what, std::string_view term) {
  return Error(ErrorCode::Invalid, concat(what, ": ", quoted(term, 80)));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "/" ("0" / %x31-39 0*2DIGIT), up to `max`; nullopt if malformed.
std::optional<unsigned> parse_length(std::string_view digits, unsigned max) {
  if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  unsigned v = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// Splits a trailing "/n", "//n" or "/n//m" off `rest`. Returns false when
// something that looks like a length is malformed.
struct CidrSuffix {
  std::optional<std::string_view> v4, v6;
};
CidrSuffix split_cidr(std::string_view& rest) {
  CidrSuffix out;
  auto take_digits_suffix = [](std::string_view s) -> size_t {  // count of trailing digits
    size_t n = 0;
    while (n < s.size() && is_digit(s[s.size() - 1 - n])) ++n;
    return n;
  };
  size_t n = take_digits_suffix(rest);
  if (n > 0 && n < rest.size() && rest[rest.size() - n - 1] == '/') {
    const std::string_view digits = rest.substr(rest.size() - n);
    if (rest.size() >= n + 2 && rest[rest.size() - n - 2] == '/') {
      out.v6 = digits;
      rest.remove_suffix(n + 2);
      n = take_digits_suffix(rest);
      if (n > 0 && n < rest.size() && rest[rest.size() - n - 1] == '/') {
        out.v4 = rest.substr(rest.size() - n);
        rest.remove_suffix(n + 1);
      }
    } else {
      out.v4 = digits;
      rest.remove_suffix(n + 1);
    }
  }
  return out;
}

bool is_modifier(std::string_view term, size_t& eq) {
  eq = term.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  const char first = term[0];
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'))) return false;
  for (size_t i = 1; i < eq; ++i) {
    const char c = term[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_' || c == '.'))
      return false;
  }
  return true;
}

Result<void> parse_modifier(std::string_view term, size_t eq, Record& record) {
  const std::string name = to_lower(term.substr(0, eq));
  const std::string_view value = term.substr(eq + 1);
  if (name == "redirect" || name == "exp") {
    auto& slot = name == "redirect" ? record.redirect : record.exp;
    if (slot) return invalid(name + "= appears more than once", term);
    if (auto r = check_domain_spec(value); !r) return invalid(r.error().message, term);
    slot = std::string(value);
    return {};
  }
  if (auto r = check_macro_string(value, false); !r) return invalid(r.error().message, term);
  return {};  // unknown modifiers are ignored
}

Result<Mechanism> parse_mechanism(std::string_view term) {
  Mechanism m;
  m.text = std::string(term);
  std::string_view rest = term;
  switch (rest.front()) {
    case '+': m.qualifier = Qualifier::Pass; rest.remove_prefix(1); break;
    case '-': m.qualifier = Qualifier::Fail; rest.remove_prefix(1); break;
    case '~': m.qualifier = Qualifier::SoftFail; rest.remove_prefix(1); break;
    case '?': m.qualifier = Qualifier::Neutral; rest.remove_prefix(1); break;
    default: break;
  }
  const size_t name_end = rest.find_first_of(":/");
  const std::string name = to_lower(rest.substr(0, name_end));
  rest = name_end == std::string_view::npos ? std::string_view() : rest.substr(name_end);

  if (name == "all") {
    if (!rest.empty()) return invalid("all takes no arguments", term);
    m.kind = MechanismKind::All;
    return m;
  }
  if (name == "ip4" || name == "ip6") {
    const bool v4 = name == "ip4";
    m.kind = v4 ? MechanismKind::Ip4 : MechanismKind::Ip6;
    if (rest.empty() || rest.front() != ':') return invalid("missing address", term);
    rest.remove_prefix(1);
    const size_t slash = rest.find('/');
    const std::string_view address = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
      const auto len = parse_length(rest.substr(slash + 1), v4 ? 32 : 128);
      if (!len) return invalid("invalid CIDR length", term);
      (v4 ? m.cidr4 : m.cidr6) = *len;
    }
    const bool looks_v4 = address.find(':') == std::string_view::npos;
    const auto ip = net::IpAddress::parse(address);
    if (!ip || looks_v4 != v4) return invalid(v4 ? "invalid IPv4 address" : "invalid IPv6 address", term);
    m.network = *ip;
    if (!v4) m.network.is_v4 = false;  // "::ffff:a.b.c.d" in ip6 is an IPv6 network
    return m;
  }

  bool takes_domain = true, domain_required = false, takes_cidr = false;
  if (name == "a") m.kind = MechanismKind::A, takes_cidr = true;
  else if (name == "mx") m.kind = MechanismKind::Mx, takes_cidr = true;
  else if (name == "ptr") m.kind = MechanismKind::Ptr;
  else if (name == "include") m.kind = MechanismKind::Include, domain_required = true;
  else if (name == "exists") m.kind = MechanismKind::Exists, domain_required = true;
  else return invalid("unknown mechanism", term);

  if (takes_cidr) {
    const CidrSuffix cidr = split_cidr(rest);
    if (cidr.v4) {
      const auto len = parse_length(*cidr.v4, 32);
      if (!len) return invalid("invalid IPv4 CIDR length", term);
      m.cidr4 = *len;
    }
    if (cidr.v6) {
      const auto len = parse_length(*cidr.v6, 128);
      if (!len) return invalid("invalid IPv6 CIDR length", term);
      m.cidr6 = *len;
    }
  }
  if (rest.empty()) {
    if (domain_required) return invalid("missing domain", term);
    return m;
  }
  if (rest.front() != ':' || !takes_domain) return invalid("malformed mechanism", term);
  rest.remove_prefix(1);
  if (auto r = check_domain_spec(rest); !r) return invalid(r.error().message, term);
  m.domain_spec = std::string(rest);
  return m;
}

}  // namespace

bool is_spf_record(std::string_view txt) {
  return txt.size() >= 6 && iequals(txt.substr(0, 6), "v=spf1") && (txt.size() == 6 || txt[6] == ' ');
}

Result<Record> parse_record(std::string_view text) {
  if (text.size() > limits::kMaxRecordBytes) return Error(ErrorCode::Invalid, "SPF record too long");
  if (!is_spf_record(text)) return Error(ErrorCode::Invalid, "not an SPF record");
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u != ' ' && (u < 0x21 || u > 0x7e)) return Error(ErrorCode::Invalid, "invalid character in SPF record");
  }
  Record record;
  size_t terms = 0;
  size_t at = 6;
  while (at < text.size()) {
    if (text[at] == ' ') {
      ++at;
      continue;
    }
    size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view term = text.substr(at, end - at);
    at = end;
    if (++terms > limits::kMaxTerms) return Error(ErrorCode::Invalid, "too many terms in SPF record");
    size_t eq = 0;
    if (is_modifier(term, eq)) {
      if (auto r = parse_modifier(term, eq, record); !r) return r.error();
      continue;
    }
    auto m = parse_mechanism(term);
    if (!m) return m.error();
    record.mechanisms.push_back(std::move(m.value()));
  }
  return record;
}

bool prefix_matches(const net::IpAddress& network, const net::IpAddress& ip, unsigned prefix) {
  if (network.is_v4 != ip.is_v4) return false;
  const size_t first = network.is_v4 ? 12 : 0;  // IPv4 lives in the last 4 bytes
  for (size_t i = first; i < 16 && prefix > 0; ++i) {
    const unsigned bits = prefix >= 8 ? 8 : prefix;
    const auto mask = static_cast<uint8_t>(0xff << (8 - bits));
    if ((network.bytes[i] & mask) != (ip.bytes[i] & mask)) return false;
    prefix -= bits;
  }
  return true;
}

}  // namespace volley::spf
