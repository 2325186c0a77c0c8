#include "platform/gmime_support.hpp"

#include <mutex>

namespace volley::platform {

void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

std::string write_crlf(GMimeObject* object) {
  ensure_gmime();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new());
  GMimeFormatOptions* options = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS);
  g_mime_object_write_to_stream(object, options, stream.get());
  g_mime_format_options_free(options);
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

GPtr<GMimeMessage> parse_message_bytes(std::string_view bytes) {
  ensure_gmime();
  GByteArray* array = g_byte_array_new();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_byte_array(array));
  g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream.get()), TRUE);
  g_byte_array_append(array, reinterpret_cast<const guint8*>(bytes.data()), static_cast<guint>(bytes.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  return GPtr<GMimeMessage>(g_mime_parser_construct_message(parser.get(), nullptr));
}

std::string encode_header_text(std::string_view utf8) {
  bool ascii = true;
  for (unsigned char c : utf8) ascii = ascii && c < 0x80;
  if (ascii) return std::string(utf8);
  ensure_gmime();
  const std::string text(utf8);
  char* encoded = g_mime_utils_header_encode_text(nullptr, text.c_str(), "utf-8");
  std::string out = encoded ? encoded : "";
  g_free(encoded);
  return out;
}

std::string header_text(GMimeObject* object, const char* name) {
  const char* v = g_mime_object_get_header(object, name);
  return v ? std::string(v) : std::string();
}

}  // namespace volley::platform
