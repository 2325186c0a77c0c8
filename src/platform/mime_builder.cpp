#include "platform/mime_builder.hpp"

#include <algorithm>

#include "platform/gmime_support.hpp"
#include "platform/token_encoding.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

// Text parts are written with LF and turned into CRLF on output: a lone CR
// in a client's text would otherwise survive as a bare CR, which 7bit and
// quoted-printable bodies may not carry (RFC 5322 2.3).
std::string normalize_line_ends(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

void set_content(GMimePart* part, std::string_view bytes) {
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
  GPtr<GMimeDataWrapper> wrapper(g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part, wrapper.get());
}

// UTF-8 always (not the narrowest charset GMime's set_text would pick), and
// the transfer encoding GMime finds best for 7-bit transport: 7bit for
// short-lined ASCII, quoted-printable for mostly-ASCII text, base64 else.
GMimeObject* text_part(const char* subtype, std::string_view text) {
  GMimeTextPart* part = g_mime_text_part_new_with_subtype(subtype);
  set_content(GMIME_PART(part), normalize_line_ends(text));
  g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
  g_mime_part_set_content_encoding(GMIME_PART(part),
                                   g_mime_part_get_best_content_encoding(GMIME_PART(part), GMIME_ENCODING_CONSTRAINT_7BIT));
  return GMIME_OBJECT(part);
}

GMimeObject* attachment_part(const Attachment& a) {
  const size_t slash = a.content_type.find('/');
  const std::string type = a.content_type.substr(0, slash), subtype = a.content_type.substr(slash + 1);
  GMimePart* part = g_mime_part_new_with_type(type.c_str(), subtype.c_str());
  set_content(part, a.content);
  g_mime_part_set_filename(part, a.filename.c_str());  // Content-Disposition: attachment; filename (RFC 2231 if needed)
  g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
  return GMIME_OBJECT(part);
}

GMimeObject* body_of(const MessageRequest& r) {
  GMimeObject* body = nullptr;
  if (!r.text.empty() && !r.html.empty()) {
    GMimeMultipart* alt = g_mime_multipart_new_with_subtype("alternative");
    GPtr<GMimeObject> text(text_part("plain", r.text)), html(text_part("html", r.html));
    g_mime_multipart_add(alt, text.get());  // the multipart takes its own reference
    g_mime_multipart_add(alt, html.get());
    body = GMIME_OBJECT(alt);
  } else {
    body = r.html.empty() ? text_part("plain", r.text) : text_part("html", r.html);
  }
  if (r.attachments.empty()) return body;
  GMimeMultipart* mixed = g_mime_multipart_new_with_subtype("mixed");
  g_mime_multipart_add(mixed, body);
  g_object_unref(body);
  for (const Attachment& a : r.attachments) {
    GPtr<GMimeObject> part(attachment_part(a));
    g_mime_multipart_add(mixed, part.get());
  }
  return GMIME_OBJECT(mixed);
}

void add_mailbox(GMimeMessage* msg, GMimeAddressType type, const NamedAddress& a) {
  g_mime_message_add_mailbox(msg, type, a.name.empty() ? nullptr : a.name.c_str(), a.address.c_str());
}

bool is_id_text(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
          c == '_'))
      return false;
  return s.front() != '.' && s.back() != '.';
}

bool every_line_fits(std::string_view bytes) {
  size_t start = 0;
  while (start < bytes.size()) {
    size_t lf = bytes.find('\n', start);
    if (lf == bytes.npos) lf = bytes.size();
    if (lf - start > 999) return false;  // 998 + the CR
    start = lf + 1;
  }
  return true;
}

// Our own headers (List-Unsubscribe, List-Unsubscribe-Post, X-Volley-*) are
// structured ASCII: GMime would treat them as unstructured text and turn a
// long unbreakable URL into RFC 2047 encoded-words, which no receiver reads
// as a link. Written raw instead, folded after the commas between items.
void append_structured_header(GMimeObject* obj, const std::string& name, const std::string& value) {
  const bool ascii = std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  g_mime_object_append_header(obj, name.c_str(), value.c_str(), "utf-8");
  if (!ascii) return;
  GMimeHeader* h = g_mime_header_list_get_header(g_mime_object_get_header_list(obj), name.c_str());
  if (!h) return;
  std::string raw = " ";
  size_t line = name.size() + 2;
  for (std::string_view rest = value; !rest.empty();) {
    const size_t comma = rest.find(", ");
    const std::string_view item = rest.substr(0, comma == std::string_view::npos ? rest.size() : comma + 1);
    if (line > name.size() + 2 && line + item.size() > 78) {
      raw += "\n ";
      line = 1;
    } else if (raw.size() > 1) {
      raw += ' ';
      ++line;
    }
    raw += item;
    line += item.size();
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 2);
  }
  raw += '\n';
  g_mime_header_set_raw_value(h, raw.c_str());
}

}  // namespace

MessageStamp make_stamp(const Clock& clock) {
  return MessageStamp{clock.unix_seconds(), base32_encode(random_bytes(16))};
}

Result<BuiltMessage> build_message(const MessageRequest& r, const HeaderList& extra_headers, const MessageStamp& stamp) {
  ensure_gmime();
  for (const auto& [name, value] : extra_headers)
    if (!is_field_name(name) || has_line_break_or_nul(value))
      return make_error(ErrorCode::Invalid, concat("extra header ", volley::quoted(name, 64), ": bad name or CR/LF/NUL"));
  if (!is_id_text(stamp.id_local)) return make_error(ErrorCode::Invalid, "message id: not dot-atom text");

  GPtr<GMimeMessage> msg(g_mime_message_new(TRUE));
  add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_FROM, r.from);
  if (r.reply_to) add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_REPLY_TO, *r.reply_to);
  for (const NamedAddress& a : r.to) add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_TO, a);
  for (const NamedAddress& a : r.cc) add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_CC, a);
  // Bcc: envelope only, never a header.
  g_mime_message_set_subject(msg.get(), r.subject.c_str(), "utf-8");
  GDateTime* date = g_date_time_new_from_unix_utc(stamp.date_unix_seconds);
  if (!date) return make_error(ErrorCode::Invalid, "message date out of range");
  g_mime_message_set_date(msg.get(), date);
  g_date_time_unref(date);
  BuiltMessage out;
  out.message_id = concat(stamp.id_local, "@", std::string_view(r.from.address).substr(r.from.address.rfind('@') + 1));
  g_mime_message_set_message_id(msg.get(), out.message_id.c_str());
  for (const auto& [name, value] : r.headers)
    g_mime_object_append_header(GMIME_OBJECT(msg.get()), name.c_str(), value.c_str(), "utf-8");
  for (const auto& [name, value] : extra_headers) append_structured_header(GMIME_OBJECT(msg.get()), name, value);

  GPtr<GMimeObject> body(body_of(r));
  g_mime_message_set_mime_part(msg.get(), body.get());
  out.bytes = write_crlf(GMIME_OBJECT(msg.get()));
  if (!every_line_fits(out.bytes))
    return make_error(ErrorCode::Invalid, "a header line would exceed 998 octets (a long unbreakable value)");
  out.envelope_recipients = envelope_recipients(r);
  return out;
}

}  // namespace volley::platform
