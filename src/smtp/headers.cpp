// Header-block inspection. Only what the trace and the added fields need:
// where the block ends and which field names it holds. Field bodies are
// never interpreted.
#include "smtp/headers.hpp"

#include "util/strings.hpp"

namespace volley::smtp {
namespace {

// ftext = %d33-57 / %d59-126 (RFC 5322 3.6.8)
constexpr bool is_ftext(char c) { return c >= 33 && c <= 126 && c != ':'; }

// The field name of `line` if it is a field ("name:" or the obsolete
// "name WSP* :", RFC 5322 4.5.8), else empty.
std::string_view field_name(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && is_ftext(line[n])) ++n;
  if (n == 0) return {};
  size_t colon = n;
  while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t')) ++colon;
  if (colon >= line.size() || line[colon] != ':') return {};
  return line.substr(0, n);
}

std::string_view first_line(std::string_view s) { return s.substr(0, s.find('\n')); }

// Calls fn(name) for each field (not continuation) line in the header block.
template <class Fn>
void for_each_field(std::string_view message, Fn&& fn) {
  std::string_view block = message.substr(0, header_block_end(message));
  while (!block.empty()) {
    const size_t nl = block.find('\n');
    const std::string_view line = block.substr(0, nl);
    block = nl == std::string_view::npos ? std::string_view{} : block.substr(nl + 1);
    if (line.empty() || line.front() == ' ' || line.front() == '\t') continue;  // folded continuation
    const std::string_view name = field_name(line);
    if (!name.empty()) fn(name);
  }
}

}  // namespace

size_t header_block_end(std::string_view message) {
  if (field_name(first_line(message)).empty()) return 0;
  const size_t blank = message.find("\r\n\r\n");
  return blank == std::string_view::npos ? message.size() : blank + 4;
}

bool has_header(std::string_view message, std::string_view name) {
  bool found = false;
  for_each_field(message, [&](std::string_view field) { found = found || iequals(field, name); });
  return found;
}

size_t count_received(std::string_view message) {
  size_t count = 0;
  for_each_field(message, [&](std::string_view field) { count += iequals(field, "Received") ? 1 : 0; });
  return count;
}

}  // namespace volley::smtp
