#include "platform/request_fields.hpp"

#include <array>

#include "platform/limits.hpp"
#include "smtp/address.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

using nlohmann::json;

bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

// Strips one pair of quotes and the backslash escapes inside ("\"" -> ").
std::optional<std::string> unquote_name(std::string_view quoted_name) {
  std::string out;
  for (size_t i = 1; i + 1 < quoted_name.size(); ++i) {
    char c = quoted_name[i];
    if (c == '\\') {
      if (i + 2 >= quoted_name.size()) return std::nullopt;  // escapes the closing quote
      c = quoted_name[++i];
    } else if (c == '"') {
      return std::nullopt;  // an unescaped quote inside
    }
    out += c;
  }
  return out;
}

// Nesting depth of a JSON text, counted outside strings. Over-counts
// nothing: brackets inside strings are skipped with their escapes.
size_t json_depth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    else if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  return deepest;
}

const char* type_name(const json& v) { return v.type_name(); }

ApiError wrong_type(std::string_view field, std::string_view expected, const json& got) {
  std::string m(field);
  m += ": expected ";
  m += expected;
  m += ", got ";
  m += type_name(got);
  return bad_request("invalid_type", std::move(m));
}

}  // namespace

bool has_line_break_or_nul(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != s.npos; }

bool is_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c < 33 || c > 126 || c == ':') return false;
  return true;
}

bool is_reserved_header(std::string_view name) {
  static constexpr std::array<std::string_view, 22> kReserved = {
      "from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "mime-version",
      "dkim-signature", "arc-seal", "arc-message-signature", "arc-authentication-results",
      "authentication-results", "received", "received-spf", "return-path", "delivered-to",
      "list-unsubscribe", "list-unsubscribe-post", "feedback-id"};
  for (std::string_view r : kReserved)
    if (iequals(name, r)) return true;
  // Content-* describe the MIME structure the builder makes; X-Volley-* and
  // Resent-* are written by us or by forwarders, never by a sender.
  return istarts_with(name, "content-") || istarts_with(name, "x-volley-") || istarts_with(name, "resent-");
}

std::optional<std::string> parse_named_address(std::string_view text, NamedAddress& out) {
  text = trim(text);
  if (text.empty()) return "empty address";
  std::string_view addr = text;
  std::string name;
  if (text.back() == '>') {
    const size_t lt = text.rfind('<');
    if (lt == text.npos) return "'>' without '<'";
    addr = text.substr(lt + 1, text.size() - lt - 2);
    std::string_view raw_name = trim(text.substr(0, lt));
    if (raw_name.size() >= 2 && raw_name.front() == '"' && raw_name.back() == '"') {
      auto unquoted = unquote_name(raw_name);
      if (!unquoted) return "badly quoted display name";
      name = std::move(*unquoted);
    } else {
      if (raw_name.find('"') != raw_name.npos) return "badly quoted display name";
      name = std::string(raw_name);
    }
    if (name.size() > kMaxDisplayNameBytes) return "display name too long";
    if (has_control(name) || !smtp::is_valid_utf8(name)) return "control characters or invalid UTF-8 in display name";
  }
  smtp::PathResult parsed = smtp::parse_mailbox(addr, /*allow_utf8=*/false);
  if (!parsed.ok) {
    std::string why = "invalid address: ";
    why += parsed.error.detail;
    return why;
  }
  if (parsed.value.path.mailbox.domain_is_literal()) return "invalid address: the domain must be a name, not a literal";
  out.name = std::move(name);
  out.address = parsed.value.path.mailbox.to_string();
  return std::nullopt;
}

ApiResult<json> parse_json_object(std::string_view body) {
  if (json_depth(body) > kMaxJsonDepth) return bad_request("invalid_json", "JSON nested too deeply");
  json parsed = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return bad_request("invalid_json", "the body is not valid JSON");
  if (!parsed.is_object()) return wrong_type("body", "an object", parsed);
  return parsed;
}

std::optional<ApiError> read_string(const json& obj, std::string_view key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return wrong_type(key, "a string", *it);
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<ApiError> read_string_array(const json& obj, std::string_view key, std::vector<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) return wrong_type(key, "an array of strings", *it);
  out.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const json& v = (*it)[i];
    if (!v.is_string()) {
      std::string field(key);
      field += '[';
      field += std::to_string(i);
      field += ']';
      return wrong_type(field, "a string", v);
    }
    out.push_back(v.get<std::string>());
  }
  return std::nullopt;
}

std::optional<ApiError> check_known_fields(const json& obj, std::initializer_list<std::string_view> known,
                                           std::string_view where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool found = false;
    for (std::string_view k : known) found = found || it.key() == k;
    if (!found) {
      std::string m = "unknown field ";
      m += where;
      m += volley::quoted(it.key(), 64);
      return bad_request("unknown_field", std::move(m));
    }
  }
  return std::nullopt;
}

std::optional<ApiError> check_header_text(std::string_view field, std::string_view value, size_t max) {
  if (has_line_break_or_nul(value)) {
    std::string m(field);
    m += ": CR, LF or NUL not allowed";
    return unprocessable("invalid_header_text", std::move(m));
  }
  if (value.size() > max) {
    std::string m(field);
    m += ": longer than ";
    m += std::to_string(max);
    m += " bytes";
    return unprocessable("too_long", std::move(m));
  }
  return std::nullopt;
}

std::optional<ApiError> read_address(std::string_view field, std::string_view text, NamedAddress& out) {
  if (has_line_break_or_nul(text)) return check_header_text(field, text, text.size());
  if (auto why = parse_named_address(text, out)) {
    std::string m(field);
    m += ": ";
    m += *why;
    return unprocessable("invalid_address", std::move(m));
  }
  return std::nullopt;
}

std::optional<ApiError> check_tags(const std::vector<std::string>& tags) {
  if (tags.size() > kMaxTags) {
    std::string m = "tags: at most ";
    m += std::to_string(kMaxTags);
    return unprocessable("too_many_tags", std::move(m));
  }
  for (size_t i = 0; i < tags.size(); ++i) {
    std::string field = "tags[";
    field += std::to_string(i);
    field += ']';
    if (auto e = check_header_text(field, tags[i], kMaxTagBytes)) return e;
    if (tags[i].empty() || has_control(tags[i])) {
      field += ": must be non-empty printable text";
      return unprocessable("invalid_tag", std::move(field));
    }
  }
  return std::nullopt;
}

}  // namespace volley::platform
