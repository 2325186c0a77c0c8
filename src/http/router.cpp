#include "http/router.hpp"

#include <algorithm>

namespace volley::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.starts_with('/')) path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

enum class PathMatch { No, Yes, BadEscape };

PathMatch match_path(const Router::Route& r, const std::vector<std::string_view>& parts, PathParams* params) {
  if (parts.size() != r.segments.size()) return PathMatch::No;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& seg = r.segments[i];
    if (!is_param(seg)) {
      if (seg != parts[i]) return PathMatch::No;
      continue;
    }
    if (parts[i].empty()) return PathMatch::No;
    if (!params) continue;
    auto value = percent_decode(parts[i], false);
    if (!value) return PathMatch::BadEscape;
    params->emplace_back(seg.substr(1, seg.size() - 2), std::move(*value));
  }
  return PathMatch::Yes;
}

}  // namespace

const char* scope_name(Scope s) {
  switch (s) {
    case Scope::Read: return "read";
    case Scope::Send: return "send";
    case Scope::Admin: return "admin";
  }
  return "read";
}

std::optional<Scope> parse_scope(std::string_view s) {
  for (Scope scope : {Scope::Read, Scope::Send, Scope::Admin})
    if (s == scope_name(scope)) return scope;
  return std::nullopt;
}

void Router::add(std::string method, std::string pattern, std::optional<ScopeSet> allowed, Handler h) {
  Route r;
  r.method = std::move(method);
  for (std::string_view s : split_path(pattern)) r.segments.emplace_back(s);
  r.allowed = allowed;
  r.handler = std::move(h);
  routes_.push_back(std::move(r));
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  const auto parts = split_path(path);
  // HEAD is answered by the GET route (RFC 9110 9.3.2).
  const std::string_view wanted = method == "HEAD" ? std::string_view("GET") : method;
  std::vector<std::string> allow;
  for (const Route& r : routes_) {
    const PathMatch pm = match_path(r, parts, nullptr);
    if (pm == PathMatch::No) continue;
    if (r.method != wanted) {
      allow.push_back(r.method);
      if (r.method == "GET") allow.emplace_back("HEAD");
      continue;
    }
    if (match_path(r, parts, &m.params) == PathMatch::BadEscape) {
      m.params.clear();
      m.status = 400;
      return m;
    }
    m.route = &r;
    return m;
  }
  if (allow.empty()) {
    m.status = 404;
    return m;
  }
  std::sort(allow.begin(), allow.end());
  allow.erase(std::unique(allow.begin(), allow.end()), allow.end());
  m.status = 405;
  for (const auto& a : allow) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += a;
  }
  return m;
}

}  // namespace volley::http
