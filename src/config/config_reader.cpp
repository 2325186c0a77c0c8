#include "config/config_reader.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "config/units.hpp"
#include "net/cidr.hpp"
#include "util/strings.hpp"

namespace volley::config::detail {

// ---- diagnostics ----

void Diag::add(uint32_t line, std::string_view key, std::string_view reason) {
  entries_.push_back({line, file_ + ":" + std::to_string(line) + ": " + std::string(key) + ": " + std::string(reason)});
}

void Diag::add(const toml::node& at, std::string_view key, std::string_view reason) { add(line_of(at), key, reason); }

std::string Diag::first() const {
  // stable: of two errors on one line, the one found first is reported
  auto it = std::min_element(entries_.begin(), entries_.end(),
                             [](const Entry& a, const Entry& b) { return a.line < b.line; });
  return it == entries_.end() ? std::string() : it->message;
}

uint32_t line_of(const toml::node& n) { return std::max<uint32_t>(1, n.source().begin.line); }

std::string join_key(std::string_view prefix, std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  std::string k = bare ? std::string(key) : quoted(key, 80);
  return prefix.empty() ? k : std::string(prefix) + "." + k;
}

std::string describe(const toml::node& n) {
  if (auto s = n.as_string()) return quoted(s->get(), 60);
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  if (auto f = n.as_floating_point()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", f->get());
    return buf;
  }
  if (n.is_table()) return "a table";
  if (n.is_array()) return "an array";
  return "a date/time";
}

// ---- value readers ----

std::optional<std::string> read_string(Diag& d, const toml::node& n, const std::string& key) {
  auto s = n.as_string();
  if (!s) {
    d.add(n, key, "expected a string, got " + describe(n));
    return std::nullopt;
  }
  if (!no_control_chars(s->get())) {
    d.add(n, key, "control characters are not allowed, got " + describe(n));
    return std::nullopt;
  }
  return s->get();
}

std::optional<bool> read_bool(Diag& d, const toml::node& n, const std::string& key) {
  if (auto b = n.as_boolean()) return b->get();
  d.add(n, key, "expected true or false, got " + describe(n));
  return std::nullopt;
}

namespace {

std::string int_kind(int64_t min) {
  if (min == 1) return "a positive integer";
  if (min == 0) return "a non-negative integer";
  return "an integer >= " + std::to_string(min);
}

}  // namespace

std::optional<int64_t> read_int(Diag& d, const toml::node& n, const std::string& key, int64_t min, int64_t max) {
  auto i = n.as_integer();
  if (!i || i->get() < min) {
    d.add(n, key, "expected " + int_kind(min) + ", got " + describe(n));
    return std::nullopt;
  }
  if (i->get() > max) {
    d.add(n, key, "expected at most " + std::to_string(max) + ", got " + describe(n));
    return std::nullopt;
  }
  return i->get();
}

std::optional<uint64_t> read_size(Diag& d, const toml::node& n, const std::string& key, uint64_t min) {
  std::optional<uint64_t> bytes;
  if (auto i = n.as_integer(); i && i->get() >= 0) bytes = static_cast<uint64_t>(i->get());
  if (auto s = n.as_string()) bytes = parse_size(s->get());
  if (bytes && *bytes >= min) return bytes;
  const std::string kind = min == 0   ? "a size"
                           : min == 1 ? "a positive size"
                                      : "a size of at least " + std::to_string(min) + " bytes";
  d.add(n, key, "expected " + kind + " (bytes, or a string like \"50MB\"), got " + describe(n));
  return std::nullopt;
}

std::optional<Duration> read_duration(Diag& d, const toml::node& n, const std::string& key, Duration min) {
  std::optional<Duration> dur;
  constexpr int64_t kMaxSeconds = std::numeric_limits<Duration::rep>::max() / 1000;
  if (auto i = n.as_integer(); i && i->get() >= 0 && i->get() <= kMaxSeconds)
    dur = std::chrono::seconds(i->get());
  if (auto s = n.as_string()) dur = parse_duration(s->get());
  if (dur && *dur >= min) return dur;
  const std::string kind = min.count() > 1 && min.count() % 1000 == 0
                               ? "a duration of at least " + std::to_string(min.count() / 1000) + "s"
                           : min.count() > 0 ? "a positive duration"
                                             : "a duration";
  d.add(n, key, "expected " + kind + " (seconds, or a string like \"30s\", \"5m\", \"4h\", \"5d\", \"250ms\"), got " +
                    describe(n));
  return std::nullopt;
}

const toml::table* read_table_node(Diag& d, const toml::node& n, const std::string& key) {
  if (auto t = n.as_table()) return t;
  d.add(n, key, "expected a table, got " + describe(n));
  return nullptr;
}

const toml::array* read_array_of_tables(Diag& d, const toml::node& n, const std::string& key) {
  auto a = n.as_array();
  // "dkim = []" is a fine way to say "none" (toml++ calls an empty array heterogeneous).
  if (!a || (!a->empty() && !a->is_array_of_tables())) {
    d.add(n, key, "expected an array of tables ([[" + key + "]]), got " + describe(n));
    return nullptr;
  }
  return a;
}

std::optional<std::vector<std::pair<std::string, const toml::node*>>> read_string_array(
    Diag& d, const toml::node& n, const std::string& key) {
  auto a = n.as_array();
  if (!a) {
    d.add(n, key, "expected an array of strings, got " + describe(n));
    return std::nullopt;
  }
  std::vector<std::pair<std::string, const toml::node*>> out;
  bool ok = true;
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    auto s = read_string(d, e, key + "[" + std::to_string(i) + "]");
    if (s)
      out.emplace_back(std::move(*s), &e);
    else
      ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

auto string_where(bool (*valid)(std::string_view), std::string what)
    -> std::function<std::optional<std::string>(Diag&, const toml::node&, const std::string&)> {
  return [valid, what](Diag& d, const toml::node& n, const std::string& k) -> std::optional<std::string> {
    auto s = read_string(d, n, k);
    if (s && !valid(*s)) {
      d.add(n, k, "expected " + what + ", got " + describe(n));
      return std::nullopt;
    }
    return s;
  };
}

// ---- tables ----

namespace {

// Levenshtein distance, for "did you mean": keys are short, so O(n*m) is nothing.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

void unknown_key(Diag& d, const toml::key& k, const std::string& dotted, const std::vector<std::string_view>& known) {
  std::string reason = "unknown key";
  std::string_view best;
  size_t best_distance = 3;  // further than 2 edits is not a typo
  for (auto candidate : known) {
    const size_t dist = edit_distance(to_lower(k.str()), candidate);
    if (dist < best_distance) {
      best_distance = dist;
      best = candidate;
    }
  }
  if (!best.empty()) reason += " (did you mean \"" + std::string(best) + "\"?)";
  d.add(std::max<uint32_t>(1, k.source().begin.line), dotted, reason);
}

void require_keys(Diag& d, const toml::table& t, const std::string& prefix,
                  std::initializer_list<std::string_view> keys) {
  for (auto key : keys)
    if (!t.contains(key)) d.add(t, join_key(prefix, key), "missing (required)");
}

// ---- syntax checks ----

bool valid_domain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view label = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool valid_address(std::string_view s) {
  size_t at = std::string_view::npos;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c <= ' ' || c == 0x7f) return false;  // no spaces or controls anywhere
    if (quoted && c == '\\') {
      ++i;  // quoted-pair: the next character is literal
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '@' && !quoted) {
      if (at != std::string_view::npos) return false;
      at = i;
    }
  }
  if (quoted || at == std::string_view::npos || at == 0 || at > 64) return false;  // RFC 5321 4.5.3.1.1
  return valid_domain(s.substr(at + 1));
}

bool no_control_chars(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

Result<HostPort> split_host_port(std::string_view text) {
  HostPort hp;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return make_error("missing ']' after the IPv6 address");
    hp.host = std::string(text.substr(1, close - 1));
    if (hp.host.find(':') == std::string::npos || !net::IpAddress::parse(hp.host))
      return make_error(quoted(hp.host) + " in brackets is not an IPv6 address");
    rest = text.substr(close + 1);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return make_error("expected \"host:port\", got \"" + printable(text) + "\"");
    hp.host = std::string(text.substr(0, colon));
    if (hp.host.find(':') != std::string::npos)
      return make_error("IPv6 addresses must be in brackets, like \"[::1]:25\"");
    rest = text.substr(colon);
  }
  if (hp.host.empty()) return make_error("empty host in \"" + printable(text) + "\"");
  if (rest.size() < 2 || rest.front() != ':') return make_error("missing \":port\" in \"" + printable(text) + "\"");
  const std::string_view port = rest.substr(1);
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || port.size() > 5) return make_error("bad port \"" + printable(port) + "\"");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value < 1 || value > 65535) return make_error("port must be 1..65535, got " + std::string(port));
  hp.port = static_cast<uint16_t>(value);
  return hp;
}

}  // namespace volley::config::detail
