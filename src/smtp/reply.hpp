// SMTP replies (RFC 5321 4.2, enhanced codes RFC 3463/2034). A Reply is a
// code, an enhanced status and text; format() renders single- or multi-line
// with the enhanced code on every line, as RFC 2034 requires.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace volley::smtp {

struct Reply {
  int code = 250;
  std::string enhanced;            // "2.0.0"; empty only for 220/221 greeting-style replies and 334
  std::vector<std::string> lines;  // at least one line of text

  Reply() = default;
  Reply(int c, std::string enh, std::string text) : code(c), enhanced(std::move(enh)), lines{std::move(text)} {}
  std::string format() const;
  bool negative() const { return code >= 400; }
};

}  // namespace volley::smtp
