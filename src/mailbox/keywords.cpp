#include "mailbox/keywords.hpp"

namespace volley::mailbox {
namespace {

constexpr size_t kMaxKeywordLine = 1000;

bool valid_name(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7F) return false;
  return true;
}

}  // namespace

std::map<unsigned, std::string> parse_keywords(std::string_view text) {
  std::map<unsigned, std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() > kMaxKeywordLine) continue;
    size_t i = 0;
    unsigned index = 0;
    while (i < line.size() && i < 3 && line[i] >= '0' && line[i] <= '9') index = index * 10 + static_cast<unsigned>(line[i++] - '0');
    if (i == 0 || i >= line.size() || line[i] != ' ' || index >= kMaxKeywords) continue;
    std::string_view name = line.substr(i + 1);
    if (!valid_name(name)) continue;
    out.emplace(index, std::string(name));
  }
  return out;
}

std::string serialize_keywords(const std::map<unsigned, std::string>& keywords) {
  std::string out;
  for (const auto& [index, name] : keywords) {
    out += std::to_string(index);
    out += ' ';
    out += name;
    out += '\n';
  }
  return out;
}

}  // namespace volley::mailbox
