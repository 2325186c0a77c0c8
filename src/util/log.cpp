#include "util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

#include "util/utf8.hpp"

namespace volley::log {
namespace {
std::atomic<Format> g_format{Format::KeyValue};
std::atomic<Level> g_level{Level::Info};
std::mutex g_sink_mu;
std::string* g_sink = nullptr;

const char* level_name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// The one escaping rule for logged values, applied here and only here:
// callers pass raw bytes (never printable()), so nothing is escaped twice.
//  * well-formed UTF-8 stays as it is: a non-ASCII address reads as itself;
//  * C0 controls, DEL, C1 controls (U+0080..U+009F) and bytes that are not
//    UTF-8 are escaped: \xNN in key=value, \u00NN in JSON;
//  * '"' and '\\' get a backslash; key=value values holding anything but
//    plain ASCII, or spaces, '=' or quotes, are put in quotes;
//  * a value is cut at kMaxValueBytes and marked "...", so one hostile
//    12 KiB SASL user name cannot make a 12 KiB log line.
constexpr size_t kMaxValueBytes = 1024;
constexpr char kHex[] = "0123456789abcdef";

// Length of the unit at v[i] that may be written as it is (one printable
// ASCII byte or one well-formed non-control UTF-8 character), 0 when the
// byte at v[i] must be escaped.
size_t plain_unit(std::string_view v, size_t i) {
  const auto c = static_cast<unsigned char>(v[i]);
  if (c < 0x80) return (c >= 0x20 && c != 0x7f) ? 1 : 0;
  if (is_c1_control(v, i)) return 0;
  return utf8_sequence_length(v, i);
}

std::string_view clipped(std::string_view v, bool& cut) {
  cut = v.size() > kMaxValueBytes;
  return cut ? v.substr(0, kMaxValueBytes) : v;
}

void append_kv_value(std::string& out, std::string_view raw) {
  bool cut = false;
  const std::string_view v = clipped(raw, cut);
  bool needs_quotes = v.empty() || cut;
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) needs_quotes = true;
  if (!needs_quotes) {
    out.append(v);
    return;
  }
  out += '"';
  for (size_t i = 0; i < v.size();) {
    const size_t n = plain_unit(v, i);
    const auto c = static_cast<unsigned char>(v[i]);
    if (n == 0) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out.append(v.substr(i, n));
    i += n;
  }
  if (cut) out += "...";
  out += '"';
}

void append_json_string(std::string& out, std::string_view raw) {
  bool cut = false;
  const std::string_view v = clipped(raw, cut);
  out += '"';
  for (size_t i = 0; i < v.size();) {
    const auto c = static_cast<unsigned char>(v[i]);
    const size_t n = plain_unit(v, i);
    if (n > 0) {
      if (c == '"' || c == '\\') out += '\\';
      out.append(v.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        // A C1 control is the code point U+0080..U+009F its second byte
        // names; any other byte (a control, or not UTF-8) is shown as the
        // code point of the same number, so the line is always valid JSON.
        unsigned code = c;
        if (is_c1_control(v, i)) code = static_cast<unsigned char>(v[++i]);
        out += "\\u00";
        out += kHex[code >> 4];
        out += kHex[code & 15];
      }
    }
    ++i;
  }
  if (cut) out += "...";
  out += '"';
}
}  // namespace

void set_format(Format f) { g_format = f; }
void set_level(Level l) { g_level = l; }
Format format() { return g_format; }
void set_sink_for_tests(std::string* sink) {
  std::lock_guard lock(g_sink_mu);
  g_sink = sink;
}

Line::Line(Level level, std::string_view event) : enabled_(level >= g_level.load()) {
  if (!enabled_) return;
  buf_.reserve(256);
  if (g_format == Format::Json) {
    buf_ = "{\"ts\":\"" + timestamp() + "\",\"level\":\"" + level_name(level) + "\",\"event\":";
    append_json_string(buf_, event);
  } else {
    buf_ = "ts=" + timestamp() + " level=" + level_name(level) + " event=";
    append_kv_value(buf_, event);
  }
}

void Line::raw(std::string_view key, std::string_view value, bool quote_json) {
  if (!enabled_) return;
  if (g_format == Format::Json) {
    buf_ += ',';
    append_json_string(buf_, key);
    buf_ += ':';
    if (quote_json)
      append_json_string(buf_, value);
    else
      buf_.append(value);
  } else {
    buf_ += ' ';
    buf_.append(key);
    buf_ += '=';
    if (quote_json)
      append_kv_value(buf_, value);
    else
      buf_.append(value);
  }
}

Line& Line::kv(std::string_view key, std::string_view value) {
  raw(key, value, true);
  return *this;
}
Line& Line::kv(std::string_view key, int64_t value) {
  raw(key, std::to_string(value), false);
  return *this;
}
Line& Line::kv(std::string_view key, uint64_t value) {
  raw(key, std::to_string(value), false);
  return *this;
}
Line& Line::kv(std::string_view key, bool value) {
  raw(key, value ? "true" : "false", false);
  return *this;
}

Line::~Line() {
  if (!enabled_) return;
  if (g_format == Format::Json) buf_ += '}';
  buf_ += '\n';
  {
    std::lock_guard lock(g_sink_mu);
    if (g_sink) {
      g_sink->append(buf_);
      return;
    }
  }
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace volley::log
