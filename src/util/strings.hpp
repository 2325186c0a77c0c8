// Small ASCII string helpers. Mail protocols are ASCII-case-insensitive, never
// locale-dependent, so these deliberately avoid <locale> and std::tolower.
#pragma once

#include <string>
#include <string_view>

namespace volley {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
constexpr char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string_view trim(std::string_view s);
// Printable rendering of untrusted bytes for logs: control and 8-bit bytes as \xNN, capped.
std::string printable(std::string_view s, size_t max_len = 200);
// printable(s) in double quotes, for error messages that show a value as written.
// Built by appending: `"\"" + printable(s) + "\""` makes GCC 12 at -O3 report a
// false -Wrestrict (GCC PR 105329) inside std::string's insert.
std::string quoted(std::string_view s, size_t max_len = 200);
// The pieces joined left to right, e.g. concat("<", address, ">"). Use it
// rather than `"literal" + std::string(...)`: prepending to a temporary string
// goes through std::string::insert, where GCC 12 at -O3 reports a false
// -Wrestrict (GCC PR 105329) that -Werror turns into a failed build.
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::string out;
  out.reserve((std::string_view(parts).size() + ...));
  (out.append(std::string_view(parts)), ...);
  return out;
}

}  // namespace volley
