#include "pop3/command.hpp"

#include <limits>

#include "util/strings.hpp"

namespace volley::pop3 {
namespace {

struct VerbName {
  Verb verb;
  const char* name;
};

constexpr VerbName kVerbNames[] = {
    {Verb::Capa, "CAPA"}, {Verb::Stls, "STLS"}, {Verb::User, "USER"}, {Verb::Pass, "PASS"},
    {Verb::Auth, "AUTH"}, {Verb::Apop, "APOP"}, {Verb::Stat, "STAT"}, {Verb::List, "LIST"},
    {Verb::Uidl, "UIDL"}, {Verb::Top, "TOP"},   {Verb::Retr, "RETR"}, {Verb::Dele, "DELE"},
    {Verb::Rset, "RSET"}, {Verb::Noop, "NOOP"}, {Verb::Quit, "QUIT"},
};

// Digits only, at most 20 of them; nullopt on anything else or overflow.
std::optional<uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

CommandLine parse_command(std::string_view line) {
  CommandLine c;
  const size_t sp = line.find(' ');
  c.keyword = line.substr(0, sp);
  c.rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  for (const auto& v : kVerbNames) {
    if (iequals(c.keyword, v.name)) {
      c.verb = v.verb;
      break;
    }
  }
  std::string_view rest = c.rest;
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = rest.find(' ');
    const std::string_view word = rest.substr(0, end);
    if (c.arg_count < CommandLine::kMaxArgs) {
      c.args[c.arg_count++] = word;
    } else {
      c.extra_args = true;
      break;
    }
    rest.remove_prefix(word.size());
  }
  return c;
}

bool has_forbidden_bytes(std::string_view line) {
  for (char ch : line) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
  }
  return false;
}

std::optional<uint32_t> parse_message_number(std::string_view arg) {
  if (arg.size() > 1 && arg.front() == '0') return std::nullopt;
  auto v = parse_decimal(arg);
  if (!v || *v == 0 || *v > kMaxMessageNumber) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

std::optional<uint64_t> parse_line_count(std::string_view arg) {
  if (arg.empty() || arg.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  // A count too large to represent still means "every line".
  auto v = parse_decimal(arg);
  return v ? *v : std::numeric_limits<uint64_t>::max();
}

const char* verb_name(Verb v) {
  for (const auto& n : kVerbNames)
    if (n.verb == v) return n.name;
  return "?";
}

}  // namespace volley::pop3
