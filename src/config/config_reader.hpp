// Private to src/config: the building blocks config.cpp validates volley.toml
// with. A section is described by a table of {key, apply} rows (Field<S>);
// read_table() walks the TOML table, refuses keys that have no row and hands
// each value to its row. Value readers record an error in Diag and return
// nullopt, so validation carries on and the earliest error in the file wins.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace volley::config::detail {

using Duration = std::chrono::milliseconds;
inline constexpr int64_t kU32Max = 0xffffffff;  // upper bound of the uint32_t fields

// Collects errors; first() is the one with the lowest line (ties: the first
// recorded), so the operator fixes the file top to bottom.
class Diag {
 public:
  explicit Diag(std::string file) : file_(std::move(file)) {}
  void add(uint32_t line, std::string_view key, std::string_view reason);
  void add(const toml::node& at, std::string_view key, std::string_view reason);
  bool any() const { return !entries_.empty(); }
  size_t count() const { return entries_.size(); }
  std::string first() const;

 private:
  struct Entry {
    uint32_t line;
    std::string message;
  };
  std::string file_;
  std::vector<Entry> entries_;
};

uint32_t line_of(const toml::node& n);
// "listener[0]" + "name" -> "listener[0].name"; keys that are not bare TOML
// keys are quoted: aliases."postmaster@example.com".
std::string join_key(std::string_view prefix, std::string_view key);
// What the operator wrote, for "expected X, got Y": "\"x\"", "42", "a table".
std::string describe(const toml::node& n);

// ---- value readers: (Diag&, node, dotted key) -> optional<T> ----

std::optional<std::string> read_string(Diag& d, const toml::node& n, const std::string& key);
std::optional<bool> read_bool(Diag& d, const toml::node& n, const std::string& key);
std::optional<int64_t> read_int(Diag& d, const toml::node& n, const std::string& key, int64_t min, int64_t max);
std::optional<uint64_t> read_size(Diag& d, const toml::node& n, const std::string& key, uint64_t min);
std::optional<Duration> read_duration(Diag& d, const toml::node& n, const std::string& key, Duration min);
const toml::table* read_table_node(Diag& d, const toml::node& n, const std::string& key);
// An array whose elements are all tables ([[listener]]), or an empty array; nullptr after an error.
const toml::array* read_array_of_tables(Diag& d, const toml::node& n, const std::string& key);
// An array of strings; element errors name key[i] and carry the element's line.
std::optional<std::vector<std::pair<std::string, const toml::node*>>> read_string_array(
    Diag& d, const toml::node& n, const std::string& key);

// Reader factories, for use in field tables.
inline auto integer(int64_t min, int64_t max) {
  return [=](Diag& d, const toml::node& n, const std::string& k) { return read_int(d, n, k, min, max); };
}
inline auto size_at_least(uint64_t min) {
  return [=](Diag& d, const toml::node& n, const std::string& k) { return read_size(d, n, k, min); };
}
inline auto duration_at_least(Duration min) {
  return [=](Diag& d, const toml::node& n, const std::string& k) { return read_duration(d, n, k, min); };
}
inline auto boolean() { return [](Diag& d, const toml::node& n, const std::string& k) { return read_bool(d, n, k); }; }
// A string accepted by `valid`; `what` completes "expected ...".
auto string_where(bool (*valid)(std::string_view), std::string what)
    -> std::function<std::optional<std::string>(Diag&, const toml::node&, const std::string&)>;
// A string that must be one of `names`; maps to the matching value.
template <class T>
auto one_of(std::vector<std::pair<std::string_view, T>> names) {
  return [names = std::move(names)](Diag& d, const toml::node& n, const std::string& k) -> std::optional<T> {
    auto s = read_string(d, n, k);
    if (!s) return std::nullopt;
    for (const auto& [name, value] : names)
      if (*s == name) return value;
    std::string list;
    for (const auto& [name, value] : names) list += (list.empty() ? "\"" : ", \"") + std::string(name) + "\"";
    d.add(n, k, "expected one of " + list + ", got " + describe(n));
    return std::nullopt;
  };
}

// ---- field tables ----

template <class S>
struct Field {
  std::string_view key;
  std::function<void(Diag&, const toml::node&, const std::string& dotted, S&)> apply;
};

// Binds a key to a struct member through a reader: the value is stored only if it is valid.
template <class S, class M, class Reader>
Field<S> field(std::string_view key, M S::*member, Reader reader) {
  return {key, [member, reader](Diag& d, const toml::node& n, const std::string& k, S& s) {
            if (auto v = reader(d, n, k)) s.*member = static_cast<M>(*v);
          }};
}

void unknown_key(Diag& d, const toml::key& k, const std::string& dotted, const std::vector<std::string_view>& known);

// Applies `fields` to every key of `t`; a key with no row is an error ("unknown key").
template <class S>
void read_fields(Diag& d, const toml::table& t, const std::string& prefix, const std::vector<Field<S>>& fields,
                 S& out) {
  for (auto&& [k, v] : t) {
    const std::string dotted = join_key(prefix, k.str());
    const Field<S>* row = nullptr;
    for (const auto& f : fields)
      if (f.key == k.str()) row = &f;
    if (row) {
      row->apply(d, v, dotted, out);
      continue;
    }
    std::vector<std::string_view> known;
    for (const auto& f : fields) known.push_back(f.key);
    unknown_key(d, k, dotted, known);
  }
}

// Records "missing required key" at the table's own line for each absent key.
void require_keys(Diag& d, const toml::table& t, const std::string& prefix, std::initializer_list<std::string_view> keys);

// ---- syntax checks (pure) ----

// Labels of letters, digits and '-', 1..63 long, no '-' at either end, total
// <= 253, no trailing dot. Case is not checked; callers lowercase domains.
bool valid_domain(std::string_view s);
// user@domain with exactly one unquoted '@', a non-empty local part of
// printable ASCII without spaces, and a valid domain.
bool valid_address(std::string_view s);
// No ASCII control characters (checked for every string read: a tab or NUL
// in a path or password is always a mistake). UTF-8 passes.
bool no_control_chars(std::string_view s);
inline bool nonempty(std::string_view s) { return !s.empty(); }

struct HostPort {
  std::string host;  // brackets removed: "::1"
  uint16_t port = 0;
};
// "host:port" or "[v6]:port", port 1..65535. IPv6 without brackets is refused
// ("::1:25" is ambiguous). The host is returned as written.
Result<HostPort> split_host_port(std::string_view text);

}  // namespace volley::config::detail
