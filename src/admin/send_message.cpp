#include "admin/send_message.hpp"

#include "platform/gmime_support.hpp"
#include "smtp/headers.hpp"
#include "smtp/received.hpp"
#include "util/strings.hpp"

namespace volley::admin {

std::string crlf_lines(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() + raw.size() / 32 + 2);
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

std::string prepare_local_message(std::string_view raw, const LocalMessageFields& fields) {
  std::string message = crlf_lines(raw);
  const bool has_block = smtp::header_block_end(message) > 0;
  auto missing = [&](std::string_view name) { return !has_block || !smtp::has_header(message, name); };

  std::string added;
  if (missing("From")) added += concat("From: ", fields.from, "\r\n");
  if (fields.subject && missing("Subject"))
    added += concat("Subject: ", platform::encode_header_text(*fields.subject), "\r\n");
  if (missing("Date")) added += concat("Date: ", smtp::rfc5322_date(static_cast<std::time_t>(fields.stamp.date_unix_seconds)), "\r\n");
  if (missing("Message-ID")) {
    // As the API's messages: the author's domain on the right (mime_builder).
    const std::string_view from = fields.from;
    added += concat("Message-ID: <", fields.stamp.id_local, "@", from.substr(from.rfind('@') + 1), ">\r\n");
  }
  // No header block: the body starts at once, so the fields need the empty
  // line that ends a header block (unless the message already begins with one).
  if (!has_block && !message.starts_with("\r\n")) added += "\r\n";
  message.insert(0, added);
  return message;
}

}  // namespace volley::admin
