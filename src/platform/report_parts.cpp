#include "platform/report_parts.hpp"

#include "platform/limits.hpp"
#include "util/strings.hpp"

namespace volley::platform {

namespace {

// Fields per block: RFC 3464 defines about 12 per-recipient fields; extension
// fields exist, hundreds do not.
constexpr size_t kMaxFieldsPerBlock = 64;
// X-Volley-* headers kept from an original: we write a handful.
constexpr size_t kMaxVolleyHeaders = 16;

std::string capped(std::string_view s) { return std::string(trim(s.substr(0, kMaxReportFieldBytes))); }

// How many Content-Type header lines name a container (multipart/*,
// message/*), so GMime's recursive parser never sees more nesting than the
// bound. Counts every line that looks like one, body lines included:
// over-counting only refuses more.
size_t count_containers(std::string_view bytes) {
  size_t n = 0, pos = 0;
  while (pos < bytes.size()) {
    size_t eol = bytes.find('\n', pos);
    if (eol == bytes.npos) eol = bytes.size();
    std::string_view line = bytes.substr(pos, eol - pos);
    pos = eol + 1;
    if (!istarts_with(line, "content-type")) continue;
    line.remove_prefix(12);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() != ':') continue;
    // The value with its folded continuation lines, as far as a type can go.
    size_t end = pos;
    while (end < bytes.size() && (bytes[end] == ' ' || bytes[end] == '\t') && end - pos < 256) {
      const size_t next = bytes.find('\n', end);
      end = next == bytes.npos ? bytes.size() : next + 1;
    }
    const size_t value_start = static_cast<size_t>(line.data() - bytes.data()) + 1;
    const std::string value = to_lower(bytes.substr(value_start, std::min<size_t>(end, bytes.size()) - value_start));
    if (value.find("multipart") != std::string::npos || value.find("message") != std::string::npos) ++n;
  }
  return n;
}

std::string decoded_content(GMimeObject* part) {
  if (!GMIME_IS_PART(part)) return {};
  GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(part));
  if (!w) return {};
  GPtr<GMimeStream> out(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(w, out.get());
  GByteArray* b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  return std::string(reinterpret_cast<const char*>(b->data), b->len);
}

bool is_type(GMimeObject* o, std::string_view type) {
  GMimeContentType* ct = g_mime_object_get_content_type(o);
  if (!ct) return false;
  const size_t slash = type.find('/');
  const std::string t(type.substr(0, slash)), s(type.substr(slash + 1));
  return g_mime_content_type_is_type(ct, t.c_str(), s.c_str());
}

bool is_original_part(GMimeObject* o) {
  return is_type(o, "message/rfc822") || is_type(o, "text/rfc822-headers") || is_type(o, "message/global") ||
         is_type(o, "message/global-headers");
}

std::string token_in_list_unsubscribe(std::string_view value) {
  const std::string lower = to_lower(value);
  const size_t at = lower.find("/unsubscribe/");
  if (at == std::string::npos || lower.rfind("https://", at) == std::string::npos) return {};
  size_t end = at + 13;
  while (end < value.size() && ((value[end] >= 'A' && value[end] <= 'Z') || (value[end] >= 'a' && value[end] <= 'z') ||
                                (value[end] >= '0' && value[end] <= '9') || value[end] == '-' || value[end] == '_'))
    ++end;
  return std::string(value.substr(at + 13, end - at - 13));
}

}  // namespace

std::vector<FieldBlock> parse_field_blocks(std::string_view text, size_t max_blocks) {
  std::vector<FieldBlock> blocks(1);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == text.npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    FieldBlock& block = blocks.back();
    if (trim(line).empty()) {
      if (!block.empty()) {
        if (blocks.size() >= max_blocks) break;
        blocks.emplace_back();
      }
      continue;
    }
    if ((line.front() == ' ' || line.front() == '\t')) {
      if (!block.empty() && block.back().second.size() < kMaxReportFieldBytes)
        block.back().second = capped(concat(block.back().second, " ", trim(line)));
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == line.npos || colon == 0 || block.size() >= kMaxFieldsPerBlock) continue;
    block.emplace_back(to_lower(trim(line.substr(0, colon))), capped(line.substr(colon + 1)));
  }
  if (blocks.back().empty()) blocks.pop_back();
  return blocks;
}

namespace detail {

std::string field(const FieldBlock& block, std::string_view name) {
  for (const auto& [n, v] : block)
    if (n == name) return v;
  return {};
}

std::string strip_address(std::string_view value) {
  const size_t semi = value.find(';');
  if (semi != value.npos && value.substr(0, semi).find('@') == value.npos) value.remove_prefix(semi + 1);
  value = trim(value);
  if (value.size() >= 2 && value.front() == '<' && value.back() == '>') value = value.substr(1, value.size() - 2);
  return capped(value);
}

std::string verp_local_part_of(std::string_view address) {
  const size_t at = address.rfind('@');
  const std::string_view local = address.substr(0, at == address.npos ? address.size() : at);
  return istarts_with(local, "bounces+") ? std::string(local) : std::string();
}

OriginalHeaders read_original(GMimeObject* part) {
  OriginalHeaders out;
  if (!part) return out;
  GPtr<GMimeMessage> parsed;
  GMimeMessage* msg = nullptr;
  if (GMIME_IS_MESSAGE_PART(part)) {
    msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
  } else {
    // text/rfc822-headers: a header block; a blank line makes it a message.
    parsed = parse_message_bytes(concat(decoded_content(part), "\r\n\r\n"));
    msg = parsed.get();
  }
  if (!msg) return out;
  GMimeObject* obj = GMIME_OBJECT(msg);
  if (const char* id = g_mime_message_get_message_id(msg)) out.message_id = capped(id);
  out.return_path = strip_address(header_text(obj, "Return-Path"));
  out.list_unsubscribe = capped(header_text(obj, "List-Unsubscribe"));
  out.unsubscribe_token = token_in_list_unsubscribe(out.list_unsubscribe);
  out.verp_local_part = verp_local_part_of(out.return_path);
  out.from = capped(header_text(obj, "From"));
  out.to = capped(header_text(obj, "To"));
  out.subject = capped(header_text(obj, "Subject"));
  GMimeHeaderList* headers = g_mime_object_get_header_list(obj);
  const int count = headers ? g_mime_header_list_get_count(headers) : 0;
  for (int i = 0; i < count && out.volley_headers.size() < kMaxVolleyHeaders; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(headers, i);
    const char* name = g_mime_header_get_name(h);
    const char* value = g_mime_header_get_value(h);
    if (name && istarts_with(name, "x-volley-")) out.volley_headers.emplace_back(capped(name), capped(value ? value : ""));
  }
  return out;
}

Result<ReportParts> open_report(std::string_view bytes, std::string_view report_type,
                                std::initializer_list<std::string_view> machine_types) {
  if (bytes.size() > kMaxReportBytes) return make_error(ErrorCode::Invalid, "report too large");
  if (count_containers(bytes) > kMaxReportContainers) return make_error(ErrorCode::Invalid, "report nests too deeply");
  ReportParts out;
  out.message = parse_message_bytes(bytes);
  if (!out.message) return make_error(ErrorCode::Invalid, "not a message");
  GMimeObject* top = g_mime_message_get_mime_part(out.message.get());
  if (!top || !GMIME_IS_MULTIPART(top) || !is_type(top, "multipart/report"))
    return make_error(ErrorCode::Invalid, "not a multipart/report");
  const char* type = g_mime_object_get_content_type_parameter(top, "report-type");
  if (!type || !iequals(type, report_type))
    return make_error(ErrorCode::Invalid, concat("report-type is not ", report_type));
  GMimeMultipart* mp = GMIME_MULTIPART(top);
  const int count = g_mime_multipart_get_count(mp);
  if (count < 2 || static_cast<size_t>(count) > kMaxReportParts)
    return make_error(ErrorCode::Invalid, "report has too few or too many parts");
  bool found = false;
  for (int i = 1; i < count; ++i) {
    GMimeObject* part = g_mime_multipart_get_part(mp, i);
    bool machine = false;
    for (std::string_view t : machine_types) machine = machine || is_type(part, t);
    if (machine && !found) {
      out.machine_readable = decoded_content(part);
      found = true;
    } else if (!out.original && is_original_part(part)) {
      out.original = part;
    }
  }
  if (!found) return make_error(ErrorCode::Invalid, "report has no machine-readable part");
  return out;
}

}  // namespace detail
}  // namespace volley::platform
