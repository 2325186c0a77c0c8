#include "platform/one_click.hpp"

#include "util/strings.hpp"

namespace volley::platform {
namespace {

constexpr std::string_view kKey = "List-Unsubscribe";
constexpr std::string_view kValue = "One-Click";
constexpr std::string_view kPair = "List-Unsubscribe=One-Click";
// RFC 2046 5.1.1: a boundary is 1 to 70 characters.
constexpr size_t kMaxBoundaryChars = 70;

std::string_view strip_line_ends(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool form_urlencoded_one_click(std::string_view body) {
  for (std::string_view rest = body; !rest.empty();) {
    const size_t amp = rest.find('&');
    if (strip_line_ends(rest.substr(0, amp)) == kPair) return true;
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return false;
}

// The value of parameter `name` in a header value ("type; a=b; c=\"d\""),
// quotes removed; "" when absent. Parameter names in any case.
std::string_view parameter(std::string_view value, std::string_view name) {
  size_t semi = value.find(';');
  while (semi != std::string_view::npos) {
    std::string_view rest = value.substr(semi + 1);
    const size_t next = rest.find(';');
    std::string_view param = trim(rest.substr(0, next));
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos && iequals(trim(param.substr(0, eq)), name)) {
      std::string_view v = trim(param.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
    semi = next == std::string_view::npos ? next : semi + 1 + next;
  }
  return {};
}

// A form-data part's headers name the field List-Unsubscribe.
bool names_key(std::string_view headers) {
  for (std::string_view rest = headers; !rest.empty();) {
    const size_t nl = rest.find('\n');
    const std::string_view line = strip_line_ends(rest.substr(0, nl));
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(trim(line.substr(0, colon)), "Content-Disposition") &&
        parameter(line.substr(colon + 1), "name") == kKey)
      return true;
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return false;
}

bool multipart_one_click(std::string_view boundary, std::string_view body) {
  if (boundary.empty() || boundary.size() > kMaxBoundaryChars) return false;
  const std::string delimiter = concat("--", boundary);
  size_t at = body.find(delimiter);
  while (at != std::string_view::npos) {
    const size_t start = at + delimiter.size();
    const size_t next = body.find(delimiter, start);
    if (next == std::string_view::npos) break;  // the close delimiter, or a part never closed
    std::string_view part = body.substr(start, next - start);
    // The part: the rest of the delimiter line, headers, an empty line, the
    // value, and the CRLF that belongs to the next delimiter.
    const size_t line_end = part.find('\n');
    if (line_end != std::string_view::npos) {
      part.remove_prefix(line_end + 1);
      size_t blank = part.find("\r\n\r\n"), skip = 4;
      if (blank == std::string_view::npos) blank = part.find("\n\n"), skip = 2;
      if (blank != std::string_view::npos && names_key(part.substr(0, blank)) &&
          strip_line_ends(part.substr(blank + skip)) == kValue)
        return true;
    }
    at = next;
  }
  return false;
}

}  // namespace

bool is_one_click_body(std::optional<std::string_view> content_type, std::string_view body) {
  if (content_type && istarts_with(trim(*content_type), "multipart/form-data"))
    return multipart_one_click(parameter(*content_type, "boundary"), body);
  return form_urlencoded_one_click(body);
}

}  // namespace volley::platform
