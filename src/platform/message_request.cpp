#include "platform/message_request.hpp"

#include <unordered_set>

#include "platform/limits.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

using nlohmann::json;

std::string indexed(std::string_view field, size_t i) {
  std::string s(field);
  s += '[';
  s += std::to_string(i);
  s += ']';
  return s;
}

std::string member(std::string_view field, std::string_view key) {
  std::string s(field);
  s += '.';
  s += printable(key, 64);
  return s;
}

// RFC 2045 token: printable ASCII except tspecials.
bool is_mime_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c <= 32 || c >= 127 || std::string_view("()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) != std::string_view::npos)
      return false;
  return true;
}

// "type/subtype" only (parameters are ours to set); not multipart/* or
// message/*, which would claim a structure the bytes do not have.
std::optional<ApiError> check_content_type(std::string_view field, std::string& type) {
  const size_t slash = type.find('/');
  type = to_lower(type);
  if (type.size() > kMaxContentTypeBytes || slash == type.npos ||
      !is_mime_token(std::string_view(type).substr(0, slash)) || !is_mime_token(std::string_view(type).substr(slash + 1))) {
    std::string m(field);
    m += ": expected \"type/subtype\"";
    return unprocessable("invalid_content_type", std::move(m));
  }
  if (type.starts_with("multipart/") || type.starts_with("message/")) {
    std::string m(field);
    m += ": multipart and message types cannot be attached as content (use application/octet-stream)";
    return unprocessable("invalid_content_type", std::move(m));
  }
  return std::nullopt;
}

// Clients wrap base64 at 76 columns (MIME habit): line breaks and spaces
// are dropped before the strict decoder sees it.
std::optional<std::string> decode_base64_lenient_whitespace(std::string_view in) {
  std::string compact;
  compact.reserve(in.size());
  for (char c : in)
    if (c != '\r' && c != '\n' && c != ' ' && c != '\t') compact += c;
  return base64_decode(compact);
}

std::optional<ApiError> read_address_list(const json& body, std::string_view key, std::vector<NamedAddress>& out) {
  std::vector<std::string> raw;
  if (auto e = read_string_array(body, key, raw)) return e;
  out.resize(raw.size());
  for (size_t i = 0; i < raw.size(); ++i)
    if (auto e = read_address(indexed(key, i), raw[i], out[i])) return e;
  return std::nullopt;
}

std::optional<ApiError> read_headers(const json& body, MessageRequest& r) {
  auto it = body.find("headers");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return bad_request("invalid_type", "headers: expected an object of strings");
  if (it->size() > kMaxCustomHeaders) {
    std::string m = "headers: at most ";
    m += std::to_string(kMaxCustomHeaders);
    return unprocessable("too_many_headers", std::move(m));
  }
  for (auto h = it->begin(); h != it->end(); ++h) {
    const std::string field = member("headers", h.key());
    if (!h->is_string()) return bad_request("invalid_type", field + ": expected a string");
    if (!is_field_name(h.key()) || h.key().size() > kMaxHeaderNameBytes)
      return unprocessable("invalid_header_name", field + ": not an RFC 5322 field name");
    if (is_reserved_header(h.key()))
      return unprocessable("reserved_header", field + ": set by Volley, not by a request");
    const std::string value = h->get<std::string>();
    // "Name: value" is one line of at most 998 octets when GMime cannot fold it.
    if (auto e = check_header_text(field, value, kMaxHeaderValueBytes - h.key().size() - 2)) return e;
    r.headers.emplace_back(h.key(), value);
  }
  return std::nullopt;
}

std::optional<ApiError> read_metadata(const json& body, MessageRequest& r) {
  auto it = body.find("metadata");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return bad_request("invalid_type", "metadata: expected an object of strings");
  if (it->size() > kMaxMetadataEntries) {
    std::string m = "metadata: at most ";
    m += std::to_string(kMaxMetadataEntries);
    m += " entries";
    return unprocessable("too_much_metadata", std::move(m));
  }
  size_t total = 0;
  for (auto m = it->begin(); m != it->end(); ++m) {
    const std::string field = member("metadata", m.key());
    if (!m->is_string()) return bad_request("invalid_type", field + ": expected a string");
    const std::string value = m->get<std::string>();
    if (m.key().empty()) return unprocessable("invalid_metadata", "metadata: empty key");
    if (auto e = check_header_text(field, m.key(), kMaxMetadataKeyBytes)) return e;
    if (auto e = check_header_text(field, value, kMaxMetadataValueBytes)) return e;
    total += m.key().size() + value.size();
    if (total > kMaxMetadataBytes) {
      std::string msg = "metadata: more than ";
      msg += std::to_string(kMaxMetadataBytes);
      msg += " bytes in all";
      return unprocessable("too_much_metadata", std::move(msg));
    }
    r.metadata.emplace_back(m.key(), value);
  }
  return std::nullopt;
}

std::optional<ApiError> read_attachments(const json& body, MessageRequest& r) {
  auto it = body.find("attachments");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) return bad_request("invalid_type", "attachments: expected an array of objects");
  if (it->size() > kMaxAttachments) {
    std::string m = "attachments: at most ";
    m += std::to_string(kMaxAttachments);
    return unprocessable("too_many_attachments", std::move(m));
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const json& a = (*it)[i];
    const std::string field = indexed("attachments", i);
    if (!a.is_object()) return bad_request("invalid_type", field + ": expected an object");
    if (auto e = check_known_fields(a, {"filename", "content_type", "content_base64"}, field + ": ")) return e;
    Attachment att;
    std::string encoded;
    if (auto e = read_string(a, "filename", att.filename)) return ApiError{e->status, e->code, field + "." + e->message};
    if (auto e = read_string(a, "content_type", att.content_type))
      return ApiError{e->status, e->code, field + "." + e->message};
    if (auto e = read_string(a, "content_base64", encoded))
      return ApiError{e->status, e->code, field + "." + e->message};
    if (att.filename.empty()) return unprocessable("missing_field", field + ".filename: required");
    if (auto e = check_header_text(field + ".filename", att.filename, kMaxFilenameBytes)) return e;
    if (att.content_type.empty()) att.content_type = "application/octet-stream";
    if (auto e = check_content_type(field + ".content_type", att.content_type)) return e;
    auto decoded = decode_base64_lenient_whitespace(encoded);
    if (!decoded) return unprocessable("invalid_base64", field + ".content_base64: not valid base64");
    att.content = std::move(*decoded);
    r.attachments.push_back(std::move(att));
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> envelope_recipients(const MessageRequest& request) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto* list : {&request.to, &request.cc, &request.bcc})
    for (const NamedAddress& a : *list)
      if (seen.insert(to_lower(a.address)).second) out.push_back(a.address);
  return out;
}

uint64_t estimated_message_bytes(const MessageRequest& r) {
  uint64_t n = 2048;  // our own headers and MIME boundaries
  n += r.subject.size() * 2 + r.text.size() + r.html.size();
  for (const auto& [name, value] : r.headers) n += name.size() + value.size() + 4;
  for (const Attachment& a : r.attachments)
    n += (a.content.size() + 2) / 3 * 4 * 78 / 76 + a.filename.size() * 3 + a.content_type.size() + 200;
  return n;
}

ApiResult<MessageRequest> parse_message_request(std::string_view body, const MessageLimits& limits) {
  auto parsed = parse_json_object(body);
  if (!parsed) return parsed.error();
  return message_request_from_json(parsed.value(), limits);
}

ApiResult<MessageRequest> message_request_from_json(const json& body, const MessageLimits& limits) {
  if (!body.is_object()) return bad_request("invalid_type", "body: expected an object");
  if (auto e = check_known_fields(body, {"from", "to", "cc", "bcc", "reply_to", "subject", "text", "html", "headers",
                                         "attachments", "tags", "metadata"}))
    return *e;
  MessageRequest r;
  std::string from, reply_to;
  if (auto e = read_string(body, "from", from)) return *e;
  if (from.empty()) return unprocessable("missing_field", "from: required");
  if (auto e = read_address("from", from, r.from)) return *e;
  for (const char* key : {"to", "cc", "bcc"}) {
    auto& list = key[0] == 't' ? r.to : key[0] == 'c' ? r.cc : r.bcc;
    if (auto e = read_address_list(body, key, list)) return *e;
  }
  if (auto e = read_string(body, "reply_to", reply_to)) return *e;
  if (!reply_to.empty()) {
    r.reply_to.emplace();
    if (auto e = read_address("reply_to", reply_to, *r.reply_to)) return *e;
  }
  if (auto e = read_string(body, "subject", r.subject)) return *e;
  if (auto e = check_header_text("subject", r.subject, kMaxSubjectBytes)) return *e;
  if (auto e = read_string(body, "text", r.text)) return *e;
  if (auto e = read_string(body, "html", r.html)) return *e;
  if (auto e = read_headers(body, r)) return *e;
  if (auto e = read_attachments(body, r)) return *e;
  if (auto e = read_string_array(body, "tags", r.tags)) return *e;
  if (auto e = check_tags(r.tags)) return *e;
  if (auto e = read_metadata(body, r)) return *e;

  if (r.text.empty() && r.html.empty()) return unprocessable("missing_content", "text or html: at least one is required");
  if (r.to.size() + r.cc.size() + r.bcc.size() > limits.max_recipients &&
      envelope_recipients(r).size() > limits.max_recipients) {
    std::string m = "to, cc, bcc: more than ";
    m += std::to_string(limits.max_recipients);
    m += " recipients";
    return unprocessable("too_many_recipients", std::move(m));
  }
  if (r.to.empty() && r.cc.empty() && r.bcc.empty())
    return unprocessable("missing_recipient", "to, cc, bcc: at least one recipient is required");
  if (estimated_message_bytes(r) > limits.max_message_bytes) {
    std::string m = "message: larger than ";
    m += std::to_string(limits.max_message_bytes);
    m += " bytes when encoded";
    return unprocessable("message_too_large", std::move(m));
  }
  return r;
}

}  // namespace volley::platform
