#include "config/units.hpp"

#include <array>
#include <limits>

#include "util/strings.hpp"

namespace volley::config {
namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;
};

// Powers of 1024 throughout: mail admins read "50MB" the way Postfix does.
constexpr std::array<Unit, 10> kSizeUnits{{
    {"b", 1},
    {"k", 1024},
    {"kb", 1024},
    {"kib", 1024},
    {"m", 1024ull * 1024},
    {"mb", 1024ull * 1024},
    {"mib", 1024ull * 1024},
    {"g", 1024ull * 1024 * 1024},
    {"gb", 1024ull * 1024 * 1024},
    {"gib", 1024ull * 1024 * 1024},
}};

// Lowercase only: "M" could be read as months by an operator, so a duration
// written "1M" is refused instead of silently meaning one minute.
constexpr std::array<Unit, 5> kDurationUnits{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60'000},
    {"h", 3'600'000},
    {"d", 86'400'000},
}};

struct NumberAndUnit {
  uint64_t number;
  std::string_view unit;
};

// Splits "50MB" into 50 and "MB". Digits only (no sign, no fraction, no
// exponent); an optional run of spaces between number and unit ("50 MB").
std::optional<NumberAndUnit> split(std::string_view text) {
  uint64_t n = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
  }
  if (i == 0) return std::nullopt;
  const size_t digits_end = i;
  while (i < text.size() && text[i] == ' ') ++i;
  if (i != digits_end && i == text.size()) return std::nullopt;  // "50 " - trailing junk
  return NumberAndUnit{n, text.substr(i)};
}

template <size_t N>
std::optional<uint64_t> scale(const NumberAndUnit& nu, const std::array<Unit, N>& units, bool fold_case,
                              uint64_t max) {
  for (const auto& u : units) {
    const bool match = fold_case ? iequals(nu.unit, u.name) : nu.unit == u.name;
    if (!match) continue;
    if (nu.number > max / u.factor) return std::nullopt;
    return nu.number * u.factor;
  }
  return std::nullopt;
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view text) {
  auto nu = split(text);
  if (!nu) return std::nullopt;
  if (nu->unit.empty()) return nu->number;  // "1024" = bytes
  return scale(*nu, kSizeUnits, /*fold_case=*/true, std::numeric_limits<uint64_t>::max());
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto nu = split(text);
  if (!nu) return std::nullopt;
  if (nu->unit.empty()) nu->unit = "s";  // a plain number is seconds, like the integer form
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<std::chrono::milliseconds::rep>::max());
  auto ms = scale(*nu, kDurationUnits, /*fold_case=*/false, kMax);
  if (!ms) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(*ms));
}

}  // namespace volley::config
