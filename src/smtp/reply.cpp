#include "smtp/reply.hpp"

namespace volley::smtp {

std::string Reply::format() const {
  std::string out;
  const std::string code_text = std::to_string(code);
  if (lines.empty()) return code_text + "\r\n";
  for (size_t i = 0; i < lines.size(); ++i) {
    out += code_text;
    out += (i + 1 == lines.size()) ? ' ' : '-';
    if (!enhanced.empty()) {
      out += enhanced;
      if (!lines[i].empty()) out += ' ';
    }
    out += lines[i];
    out += "\r\n";
  }
  return out;
}

}  // namespace volley::smtp
