// JSON as text for anything that leaves the process (HTTP answers, the
// admin socket, event details, history rows): invalid UTF-8 from the
// network (8-bit headers, a HELO of raw bytes) becomes U+FFFD instead of an
// exception from dump(). One place, so no caller forgets the handler.
#pragma once

#include <string>

namespace volley {

// Works for nlohmann::json and nlohmann::ordered_json alike.
template <class Json>
std::string json_text(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace volley
