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

}  // namespace volley
