// Structured logging: one line per event, `key=value` (default) or JSON,
// written to stderr with a single write(2) so lines from several threads never
// interleave. Usage:
//   log::info("smtp.connect").kv("client", ip).kv("listener", name);
// The line is emitted when the temporary is destroyed (end of statement).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace volley::log {

enum class Format { KeyValue, Json };
enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void set_format(Format f);
void set_level(Level l);
Format format();
// Tests capture output by redirecting it to a string sink; nullptr restores stderr.
void set_sink_for_tests(std::string* sink);

class Line {
 public:
  Line(Level level, std::string_view event);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;

  Line& kv(std::string_view key, std::string_view value);
  Line& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  Line& kv(std::string_view key, const std::string& value) { return kv(key, std::string_view(value)); }
  Line& kv(std::string_view key, int64_t value);
  Line& kv(std::string_view key, uint64_t value);
  Line& kv(std::string_view key, int value) { return kv(key, static_cast<int64_t>(value)); }
  Line& kv(std::string_view key, unsigned value) { return kv(key, static_cast<uint64_t>(value)); }
  Line& kv(std::string_view key, long long value) { return kv(key, static_cast<int64_t>(value)); }
  Line& kv(std::string_view key, unsigned long long value) { return kv(key, static_cast<uint64_t>(value)); }
  Line& kv(std::string_view key, bool value);

 private:
  void raw(std::string_view key, std::string_view value, bool quote_json);
  bool enabled_;
  std::string buf_;
};

inline Line debug(std::string_view event) { return Line(Level::Debug, event); }
inline Line info(std::string_view event) { return Line(Level::Info, event); }
inline Line warn(std::string_view event) { return Line(Level::Warn, event); }
inline Line error(std::string_view event) { return Line(Level::Error, event); }

}  // namespace volley::log
