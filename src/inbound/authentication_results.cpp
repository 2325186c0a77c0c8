#include "inbound/authentication_results.hpp"

#include "util/strings.hpp"

namespace volley::inbound {
namespace {

constexpr std::string_view kFieldName = "Authentication-Results";

// RFC 2045 token characters: anything printable but SP, CTLs and tspecials.
bool is_token(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v) {
    if (c <= 0x20 || c >= 0x7f) return false;
    if (std::string_view("()<>,;:\\\"/[]?=").find(static_cast<char>(c)) != std::string_view::npos) return false;
  }
  return true;
}

// A property value: a token, an address or domain ("user@example.com" is
// allowed bare by RFC 8601's pvalue), else a quoted string.
std::string pvalue(std::string_view v) {
  bool bare = !v.empty();
  for (unsigned char c : v)
    if (c <= 0x20 || c >= 0x7f || std::string_view("()<>,;:\\\"[]").find(static_cast<char>(c)) != std::string_view::npos)
      bare = false;
  if (bare) return std::string(v);
  std::string q = "\"";
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) continue;  // no control characters in a header
    if (c == '"' || c == '\\') q.push_back('\\');
    q.push_back(static_cast<char>(c));
  }
  q.push_back('"');
  return q;
}

std::string comment_text(std::string_view v) {
  std::string out;
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) continue;
    if (c == '(' || c == ')' || c == '\\') out.push_back('\\');
    out.push_back(static_cast<char>(c));
  }
  return out;
}

}  // namespace

std::string authentication_results_header(std::string_view authserv_id, const std::vector<MethodResult>& results) {
  std::string h = concat(kFieldName, ": ", authserv_id, ";");
  if (results.empty()) return h + " none\r\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const MethodResult& r = results[i];
    h += "\r\n\t";
    h += r.method;
    h += '=';
    h += is_token(r.result) ? r.result : std::string("none");
    if (!r.comment.empty()) h += concat(" (", comment_text(r.comment), ")");
    if (!r.reason.empty()) h += concat(" reason=", pvalue(r.reason));
    for (const auto& [property, value] : r.properties) h += concat(" ", property, "=", pvalue(value));
    if (i + 1 < results.size()) h += ';';
  }
  h += "\r\n";
  return h;
}

std::string authserv_id_of(std::string_view v) {
  size_t i = 0;
  int depth = 0;
  while (i < v.size()) {
    char c = v[i];
    if (depth > 0) {
      if (c == '\\' && i + 1 < v.size()) ++i;  // a quoted-pair; a final backslash is just skipped
      else if (c == '(') ++depth;
      else if (c == ')') --depth;
      ++i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
      continue;
    }
    if (c == '(') {
      ++depth;
      ++i;
      continue;
    }
    break;
  }
  size_t start = i;
  if (i < v.size() && v[i] == '"') {  // a quoted-string authserv-id (RFC 8601 allows value)
    std::string id;
    for (++i; i < v.size() && v[i] != '"'; ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      id.push_back(v[i]);
    }
    return id;
  }
  while (i < v.size() && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '(' && v[i] != '\r' && v[i] != '\n') ++i;
  return std::string(v.substr(start, i - start));
}

std::string remove_authentication_results(std::string_view block, std::string_view authserv_id, size_t* removed) {
  std::string out;
  out.reserve(block.size());
  size_t count = 0;
  size_t pos = 0;
  while (pos < block.size()) {
    // One field: its first line and every continuation line.
    size_t end = pos;
    do {
      size_t eol = block.find('\n', end);
      end = eol == std::string_view::npos ? block.size() : eol + 1;
    } while (end < block.size() && (block[end] == ' ' || block[end] == '\t'));
    std::string_view field = block.substr(pos, end - pos);
    pos = end;
    size_t colon = field.find(':');
    bool drop = false;
    if (colon != std::string_view::npos) {
      std::string_view name = trim(field.substr(0, colon));
      drop = iequals(name, kFieldName) && iequals(authserv_id_of(field.substr(colon + 1)), authserv_id);
    }
    if (drop) ++count;
    else out.append(field);
  }
  if (removed) *removed = count;
  return out;
}

}  // namespace volley::inbound
