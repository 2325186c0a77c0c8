#include "dkim/tag_list.hpp"

#include "dkim/limits.hpp"
#include "util/strings.hpp"

namespace volley::dkim {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_fws(char c) { return is_wsp(c) || c == '\r' || c == '\n'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
// VALCHAR: %x21-3A / %x3C-7E (printable ASCII except ";").
bool is_valchar(char c) { return c >= 0x21 && c <= 0x7e && c != ';'; }

Error invalid(std::string reason) { return Error{ErrorCode::Invalid, std::move(reason)}; }

// Checks a FWS run: a CRLF must be followed by WSP (a fold), never end a
// line inside the list; bare CR or LF is not white space.
bool valid_fws(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      if (i + 2 >= s.size() || s[i + 1] != '\n' || !is_wsp(s[i + 2])) return false;
      ++i;
    } else if (s[i] == '\n') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string_view> TagList::find(std::string_view name) const {
  for (const auto& t : tags)
    if (t.name == name) return t.value;
  return std::nullopt;
}

Result<TagList> parse_tag_list(std::string_view text) {
  if (text.size() > kMaxTagListBytes) return invalid("tag list longer than " + std::to_string(kMaxTagListBytes) + " bytes");
  TagList out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(';', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view spec = text.substr(pos, end - pos);
    const bool last = end == text.size();
    pos = last ? end : end + 1;
    if (!valid_fws(spec)) return invalid("line break not followed by white space in " + quoted(spec, 40));
    // Trim FWS on both sides; an empty spec is allowed only after the last ";".
    size_t b = 0, e = spec.size();
    while (b < e && is_fws(spec[b])) ++b;
    while (e > b && is_fws(spec[e - 1])) --e;
    spec = spec.substr(b, e - b);
    if (spec.empty()) {
      if (pos >= text.size()) break;  // "...; " at the end
      return invalid("empty tag (\";;\")");
    }
    size_t eq = spec.find('=');
    if (eq == std::string_view::npos) return invalid("tag without \"=\": " + quoted(spec, 40));
    std::string_view name = spec.substr(0, eq);
    while (!name.empty() && is_fws(name.back())) name.remove_suffix(1);
    if (name.empty() || !is_alpha(name[0])) return invalid("bad tag name " + quoted(name, 40));
    for (char c : name)
      if (!is_alpha(c) && !is_digit(c) && c != '_') return invalid("bad tag name " + quoted(name, 40));
    std::string_view value = spec.substr(eq + 1);
    while (!value.empty() && is_fws(value.front())) value.remove_prefix(1);
    if (value.size() > kMaxTagValueBytes)
      return invalid("value of tag " + std::string(name) + " longer than " + std::to_string(kMaxTagValueBytes) + " bytes");
    for (char c : value)
      if (!is_valchar(c) && !is_fws(c)) return invalid("bad character in value of tag " + std::string(name));
    if (out.find(name)) return invalid("tag " + std::string(name) + " given twice");
    if (out.tags.size() == kMaxTags) return invalid("more than " + std::to_string(kMaxTags) + " tags");
    out.tags.push_back(Tag{name, value});
  }
  return out;
}

std::string strip_fws(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value)
    if (!is_fws(c)) out.push_back(c);
  return out;
}

// Whether the colon-separated list `list` (FWS allowed) contains `item`.
bool list_contains(std::string_view list, std::string_view item) {
  std::string flat = strip_fws(list);
  for (size_t pos = 0; pos <= flat.size();) {
    size_t end = flat.find(':', pos);
    if (end == std::string::npos) end = flat.size();
    if (flat.compare(pos, end - pos, item) == 0) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace volley::dkim
