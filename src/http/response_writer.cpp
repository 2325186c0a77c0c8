#include "http/response_writer.hpp"

#include "util/strings.hpp"

namespace volley::http {
namespace {

// Framing headers are the session's alone: a handler's own would
// contradict them.
bool session_owned(std::string_view name) {
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection") ||
         iequals(name, "Date");
}

bool safe_field(std::string_view s) {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

}  // namespace

std::string write_response(const Response& r, const ResponseMeta& meta) {
  const bool no_body = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
  std::string out;
  out.reserve(256 + (meta.head ? 0 : r.body.size()));
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason_phrase(r.status);
  out += "\r\nDate: ";
  out += http_date(meta.unix_seconds);
  out += "\r\n";
  bool has_type = false;
  for (const auto& [name, value] : r.headers) {
    if (name.empty() || session_owned(name) || !safe_field(name) || !safe_field(value)) continue;
    if (iequals(name, "Content-Type")) has_type = true;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!has_type && !r.body.empty()) out += "Content-Type: text/plain; charset=utf-8\r\n";
  if (!no_body) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  if (meta.close) {
    out += "Connection: close\r\n";
  } else if (meta.version == 10) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (!meta.head && !no_body) out += r.body;
  return out;
}

}  // namespace volley::http
