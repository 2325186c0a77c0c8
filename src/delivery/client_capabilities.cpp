// EHLO keyword table: one row per boolean extension; SIZE and AUTH carry
// parameters and have their own handlers.
#include "delivery/client_capabilities.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>

#include "util/strings.hpp"

namespace volley::delivery {
namespace {

struct FlagKeyword {
  std::string_view name;
  bool ServerCapabilities::*flag;
};

constexpr std::array kFlagKeywords = {
    FlagKeyword{"PIPELINING", &ServerCapabilities::pipelining},
    FlagKeyword{"STARTTLS", &ServerCapabilities::starttls},
    FlagKeyword{"8BITMIME", &ServerCapabilities::eight_bit_mime},
    FlagKeyword{"SMTPUTF8", &ServerCapabilities::smtputf8},
    FlagKeyword{"DSN", &ServerCapabilities::dsn},
    FlagKeyword{"CHUNKING", &ServerCapabilities::chunking},
    FlagKeyword{"ENHANCEDSTATUSCODES", &ServerCapabilities::enhanced_status_codes},
};

constexpr bool is_space(char c) { return c == ' ' || c == '\t'; }

// Splits off the next whitespace-separated word; empty when none is left.
std::string_view next_word(std::string_view& rest) {
  while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  size_t n = 0;
  while (n < rest.size() && !is_space(rest[n])) ++n;
  const std::string_view word = rest.substr(0, n);
  rest.remove_prefix(n);
  return word;
}

// SIZE's parameter: decimal digits; anything else (or an overflow) means
// no usable limit, and the server's own 552 will tell us if we are too big.
uint64_t parse_size(std::string_view s) {
  if (s.empty() || s.size() > 20) return 0;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return 0;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return 0;
    v = v * 10 + d;
  }
  return v;
}

// sasl-mech = 1*20 (UPPER-ALPHA / DIGIT / "-" / "_"), compared uppercased.
bool is_mechanism(std::string_view s) {
  if (s.empty() || s.size() > ServerCapabilities::kMaxMechanismLength) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

void add_mechanism(ServerCapabilities& caps, std::string_view word) {
  std::string mech = to_upper(word);
  if (!is_mechanism(mech) || caps.auth.size() >= ServerCapabilities::kMaxAuthMechanisms) return;
  if (std::find(caps.auth.begin(), caps.auth.end(), mech) == caps.auth.end()) caps.auth.push_back(std::move(mech));
}

void apply_line(ServerCapabilities& caps, std::string_view line) {
  const std::string_view keyword = next_word(line);
  if (istarts_with(keyword, "AUTH=")) {  // pre-RFC 4954 form, still sent next to the standard one
    add_mechanism(caps, keyword.substr(5));
    for (std::string_view w = next_word(line); !w.empty(); w = next_word(line)) add_mechanism(caps, w);
    return;
  }
  if (iequals(keyword, "AUTH")) {
    for (std::string_view w = next_word(line); !w.empty(); w = next_word(line)) add_mechanism(caps, w);
    return;
  }
  if (iequals(keyword, "SIZE")) {
    caps.size = true;
    caps.max_size = parse_size(next_word(line));
    return;
  }
  for (const auto& k : kFlagKeywords)
    if (iequals(keyword, k.name)) caps.*k.flag = true;
}

}  // namespace

bool ServerCapabilities::offers_auth(std::string_view mechanism) const {
  return std::any_of(auth.begin(), auth.end(), [&](const std::string& m) { return iequals(m, mechanism); });
}

ServerCapabilities parse_ehlo_reply(const ServerReply& ehlo) {
  ServerCapabilities caps;
  if (ehlo.code < 200 || ehlo.code > 299) return caps;
  caps.esmtp = true;
  for (size_t i = 1; i < ehlo.lines.size(); ++i) apply_line(caps, ehlo.lines[i]);
  return caps;
}

}  // namespace volley::delivery
