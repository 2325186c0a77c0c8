// A Response on the wire: status line, Date, the handler's headers (any
// with CR or LF dropped: no response splitting), Content-Length,
// Connection, and the body unless the request was HEAD.
#pragma once

#include <cstdint>
#include <string>

#include "http/message.hpp"

namespace volley::http {

struct ResponseMeta {
  int64_t unix_seconds = 0;  // for Date
  bool head = false;         // HEAD: headers as for GET, no body
  unsigned version = 11;     // the request's: a 1.0 client kept alive is told so
  bool close = false;        // Connection: close, and the session closes after it
};

std::string write_response(const Response& r, const ResponseMeta& meta);

}  // namespace volley::http
