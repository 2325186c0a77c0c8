// JSON helpers shared by the admin socket's request handlers
// (admin_protocol.cpp, send_protocol.cpp): one way to build answers and to
// read fields, so every command refuses bad input in the same words.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "util/json_text.hpp"

namespace volley::admin::protocol_json {

// Insertion-ordered so every answer starts with "ok", as documented.
using json = nlohmann::ordered_json;

// Every answer goes through here: invalid UTF-8 anywhere (8-bit headers,
// a HELO of raw bytes) becomes U+FFFD instead of an exception from dump().
inline std::string dump(const json& j) { return json_text(j); }

inline json error(std::string message) {
  json j = json::object();
  j["ok"] = false;
  j["error"] = std::move(message);
  return j;
}

inline json success() {
  json j = json::object();
  j["ok"] = true;
  return j;
}

// Text from the request echoed in an error, cut so that a 64 KiB junk
// command name cannot come back as a 64 KiB error line.
inline std::string clip(const std::string& s, size_t max = 64) {
  return s.size() <= max ? s : s.substr(0, max) + "...";
}

// Unknown fields are refused rather than ignored: a mistyped or newer filter
// that was silently dropped would make "list" answer for the whole queue.
inline std::optional<std::string> check_fields(const json& req, std::initializer_list<std::string_view> allowed) {
  for (const auto& item : req.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end())
      return "unknown field \"" + clip(item.key()) + "\"";
  }
  return std::nullopt;
}

// Reads an optional string field; false (with `err` set) when it has another type.
inline bool string_field(const json& req, const char* key, std::string& out, std::string& err) {
  auto it = req.find(key);
  if (it == req.end() || it->is_null()) return true;
  if (!it->is_string()) {
    err = std::string("field \"") + key + "\" must be a string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

}  // namespace volley::admin::protocol_json
