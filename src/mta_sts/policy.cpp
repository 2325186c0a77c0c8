#include "mta_sts/policy.hpp"

#include <charconv>

#include "mta_sts/limits.hpp"
#include "util/strings.hpp"

namespace volley::mta_sts {
namespace {

bool alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string normal_host(std::string_view h) {
  std::string s = to_lower(trim(h));
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Enforce: return "enforce";
    case Mode::Testing: return "testing";
    case Mode::None: return "none";
  }
  return "none";
}

bool is_sts_record(std::string_view txt) {
  txt = trim(txt);
  return txt.substr(0, 8) == "v=STSv1;" || txt == "v=STSv1";
}

Result<StsRecord> parse_sts_record(std::string_view txt) {
  txt = trim(txt);
  if (!is_sts_record(txt)) return make_error(ErrorCode::Invalid, "not an MTA-STS record (v=STSv1 first)");
  StsRecord r;
  bool have_id = false;
  size_t pos = txt.find(';');
  while (pos != std::string_view::npos && pos < txt.size()) {
    size_t next = txt.find(';', pos + 1);
    std::string_view field = trim(txt.substr(pos + 1, next == std::string_view::npos ? txt.npos : next - pos - 1));
    pos = next;
    if (field.empty()) continue;
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) return make_error(ErrorCode::Invalid, "MTA-STS record field without '='");
    std::string_view name = trim(field.substr(0, eq)), value = trim(field.substr(eq + 1));
    if (name != "id") continue;  // extensions are ignored (3.1)
    if (have_id) return make_error(ErrorCode::Invalid, "MTA-STS record with two ids");
    if (value.empty() || value.size() > limits::kMaxIdLength)
      return make_error(ErrorCode::Invalid, "MTA-STS id must be 1-32 letters or digits");
    for (char c : value)
      if (!alnum(c)) return make_error(ErrorCode::Invalid, "MTA-STS id must be 1-32 letters or digits");
    r.id = std::string(value);
    have_id = true;
  }
  if (!have_id) return make_error(ErrorCode::Invalid, "MTA-STS record without id");
  return r;
}

std::optional<StsRecord> select_sts_record(const std::vector<std::string>& txt_records) {
  const std::string* found = nullptr;
  for (const auto& txt : txt_records) {
    if (!is_sts_record(txt)) continue;
    if (found) return std::nullopt;
    found = &txt;
  }
  if (!found) return std::nullopt;
  auto r = parse_sts_record(*found);
  if (!r) return std::nullopt;
  return *r;
}

Result<Policy> parse_policy(std::string_view text) {
  if (text.size() > limits::kMaxPolicyBytes) return make_error(ErrorCode::Invalid, "MTA-STS policy too large");
  Policy p;
  bool have_version = false, have_mode = false, have_max_age = false;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return make_error(ErrorCode::Invalid, "MTA-STS policy line without ':'");
    std::string_view key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "version") {
      if (have_version || value != "STSv1") return make_error(ErrorCode::Invalid, "MTA-STS policy version must be STSv1");
      have_version = true;
    } else if (key == "mode") {
      if (have_mode) return make_error(ErrorCode::Invalid, "MTA-STS policy with two modes");
      if (value == "enforce") p.mode = Mode::Enforce;
      else if (value == "testing") p.mode = Mode::Testing;
      else if (value == "none") p.mode = Mode::None;
      else return make_error(ErrorCode::Invalid, "MTA-STS mode must be enforce, testing or none");
      have_mode = true;
    } else if (key == "max_age") {
      uint64_t v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (have_max_age || ec != std::errc() || end != value.data() + value.size() || value.size() > 10)
        return make_error(ErrorCode::Invalid, "MTA-STS max_age must be a number of seconds");
      p.max_age = static_cast<uint32_t>(std::min<uint64_t>(v, limits::kMaxMaxAge));
      have_max_age = true;
    } else if (key == "mx") {
      if (value.empty()) return make_error(ErrorCode::Invalid, "empty MTA-STS mx pattern");
      if (p.mx.size() < limits::kMaxMxPatterns) p.mx.push_back(normal_host(value));
    }
    // Unknown keys: ignored (3.2).
  }
  if (!have_version || !have_mode || !have_max_age)
    return make_error(ErrorCode::Invalid, "MTA-STS policy lacks version, mode or max_age");
  if (p.mode != Mode::None && p.mx.empty()) return make_error(ErrorCode::Invalid, "MTA-STS policy without mx");
  return p;
}

bool mx_matches(std::string_view pattern, std::string_view host) {
  const std::string pat = normal_host(pattern), h = normal_host(host);
  if (pat.empty() || h.empty()) return false;
  if (pat.size() > 2 && pat[0] == '*' && pat[1] == '.') {
    // "*.example.com" matches exactly one more label: "mx.example.com",
    // not "example.com" nor "a.b.example.com".
    const std::string_view suffix = std::string_view(pat).substr(1);  // ".example.com"
    if (h.size() <= suffix.size() || h.compare(h.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
    return std::string_view(h).substr(0, h.size() - suffix.size()).find('.') == std::string_view::npos;
  }
  return pat == h;
}

bool mx_allowed(const Policy& p, std::string_view host) {
  for (const auto& pat : p.mx)
    if (mx_matches(pat, host)) return true;
  return false;
}

std::string policy_text(const Policy& p) {
  std::string s = concat("version: STSv1\r\nmode: ", mode_name(p.mode), "\r\n");
  for (const auto& m : p.mx) s += concat("mx: ", m, "\r\n");
  s += concat("max_age: ", std::to_string(p.max_age), "\r\n");
  return s;
}

}  // namespace volley::mta_sts
