#include "util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

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

// key=value values are quoted when they hold spaces, quotes, '=' or non-printables.
void append_kv_value(std::string& out, std::string_view v) {
  bool needs_quotes = v.empty();
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) needs_quotes = true;
  if (!needs_quotes) {
    out.append(v);
    return;
  }
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

void append_json_string(std::string& out, std::string_view v) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          // Non-ASCII bytes from the network may not be valid UTF-8; escape
          // them as code points U+0080..U+00FF so the line is always valid JSON.
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
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
