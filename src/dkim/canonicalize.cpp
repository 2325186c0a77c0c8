#include "dkim/canonicalize.hpp"

#include "util/strings.hpp"

namespace volley::dkim {

std::optional<Canon> parse_canon(std::string_view name) {
  if (name == "simple") return Canon::Simple;
  if (name == "relaxed") return Canon::Relaxed;
  return std::nullopt;
}

const char* canon_name(Canon c) { return c == Canon::Simple ? "simple" : "relaxed"; }

std::string canonicalize_header(std::string_view raw, Canon canon) {
  if (canon == Canon::Simple) return std::string(raw);
  bool crlf = raw.size() >= 2 && raw.substr(raw.size() - 2) == "\r\n";
  if (crlf) raw.remove_suffix(2);
  size_t colon = raw.find(':');
  if (colon == std::string_view::npos) return std::string(raw);  // split_header_fields never gives this
  std::string out;
  out.reserve(raw.size() + 2);
  std::string_view name = raw.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  for (char c : name) out.push_back(ascii_lower(c));
  out.push_back(':');
  // Value: unfold (drop CR and LF of a fold), WSP runs become one SP,
  // leading and trailing WSP dropped.
  bool pending_space = false;
  bool started = false;
  std::string_view value = raw.substr(colon + 1);
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    // A fold's line break goes; a CR that ends no line is a value byte.
    if (c == '\n' || (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n')) continue;
    if (c == ' ' || c == '\t') {
      pending_space = started;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    started = true;
    out.push_back(c);
  }
  if (crlf) out.append("\r\n");
  return out;
}

}  // namespace volley::dkim
