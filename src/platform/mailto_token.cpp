#include "platform/mailto_token.hpp"

#include <cctype>

#include "platform/gmime_support.hpp"

namespace volley::platform {
namespace {

// The shortest token: 31 bytes of framing, base64url.
constexpr size_t kMinTokenChars = 41;

bool token_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

// The first run of token characters in `text` that opens as our token.
std::optional<UnsubscribeFields> find_token(std::string_view secret, std::string_view text, size_t& tried) {
  size_t i = 0;
  while (i < text.size() && tried < kMailtoMaxCandidates) {
    while (i < text.size() && !token_char(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && token_char(text[j])) ++j;
    const size_t len = j - i;
    if (len >= kMinTokenChars && len <= kMaxUnsubscribeTokenChars) {
      ++tried;
      if (auto f = open_unsubscribe_token(secret, text.substr(i, len))) return std::move(*f);
    }
    i = j;
  }
  return std::nullopt;
}

std::string subject_of(std::string_view content) {
  size_t end = content.find("\r\n\r\n");
  if (end == std::string_view::npos || end > kMailtoHeaderBlockBytes) return "";
  auto msg = parse_message_bytes(content.substr(0, end + 4));
  if (!msg) return "";
  return header_text(GMIME_OBJECT(msg.get()), "Subject");
}

std::string_view body_start(std::string_view content) {
  size_t end = content.find("\r\n\r\n");
  return end == std::string_view::npos ? std::string_view() : content.substr(end + 4, kMailtoBodyScanBytes);
}

}  // namespace

std::optional<UnsubscribeFields> find_mailto_token(std::string_view secret, std::string_view content) {
  size_t tried = 0;
  auto who = find_token(secret, subject_of(content), tried);
  if (!who) who = find_token(secret, body_start(content), tried);
  return who;
}

}  // namespace volley::platform
