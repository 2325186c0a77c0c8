// The seam to GMime 3 (MIME building and parsing): one-time, thread-safe
// library start-up, ownership of GObjects, and writing an object out as
// CRLF bytes. Kept in one file so the rest of src/platform never calls
// g_object_unref by hand.
#pragma once

#include <gmime/gmime.h>

#include <memory>
#include <string>
#include <string_view>

namespace volley::platform {

// g_mime_init() once per process (std::call_once); every function here that
// touches GMime calls it first, so callers need not.
void ensure_gmime();

struct GObjectUnref {
  void operator()(gpointer p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

// `object` serialized with CRLF line endings (RFC 5322 on the wire).
std::string write_crlf(GMimeObject* object);

// The message GMime parses from (a copy of) `bytes`, or null when it finds
// none at all.
GPtr<GMimeMessage> parse_message_bytes(std::string_view bytes);

// `utf8` as an unstructured header value (Subject:): unchanged when it is
// ASCII, else RFC 2047 encoded words. The caller has checked it is UTF-8
// without CR/LF.
std::string encode_header_text(std::string_view utf8);

// A header's value, unfolded, RFC 2047 words decoded ("" when absent).
std::string header_text(GMimeObject* object, const char* name);

}  // namespace volley::platform
