#include "dkim/header_fields.hpp"

#include "dkim/limits.hpp"

namespace volley::dkim {

std::vector<HeaderField> split_header_fields(std::string_view block) {
  std::vector<HeaderField> fields;
  size_t pos = 0;
  while (pos < block.size() && fields.size() < kMaxHeaderFields) {
    // A field is its first line plus every following line that starts with WSP.
    size_t end = pos;
    do {
      size_t nl = block.find('\n', end);
      end = nl == std::string_view::npos ? block.size() : nl + 1;
    } while (end < block.size() && (block[end] == ' ' || block[end] == '\t'));
    std::string_view raw = block.substr(pos, end - pos);
    if (raw == "\r\n" || raw == "\n") break;  // the empty line: end of headers
    size_t colon = raw.find(':');
    size_t line_end = raw.find('\n');
    if (colon == std::string_view::npos || colon > line_end) break;  // not a field
    std::string_view name = raw.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (name.empty()) break;
    fields.push_back(HeaderField{name, raw});
    pos = end;
  }
  return fields;
}

size_t body_offset(std::string_view message) {
  size_t pos = 0;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    if (nl == std::string_view::npos) return message.size();
    std::string_view line = message.substr(pos, nl + 1 - pos);
    if (line == "\r\n" || line == "\n") return nl + 1;
    pos = nl + 1;
  }
  return message.size();
}

}  // namespace volley::dkim
