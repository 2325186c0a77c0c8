#include "delivery/client_content.hpp"

#include <algorithm>
#include <cstring>

namespace volley::delivery {
namespace {

bool has_high_bit(const char* p, size_t n) {
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    if (word & kHighBits) return true;
  }
  for (; i < n; ++i)
    if (static_cast<unsigned char>(p[i]) >= 0x80) return true;
  return false;
}

bool is_ascii(std::string_view s) { return !has_high_bit(s.data(), s.size()); }

}  // namespace

ContentTraits scan_content(std::string_view content) {
  ContentTraits traits;
  const char* p = content.data();
  const char* const end = p + content.size();
  while (p < end) {
    const auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = lf != nullptr ? lf : end;
    size_t length = static_cast<size_t>(line_end - p);
    if (!traits.eight_bit) traits.eight_bit = has_high_bit(p, length);
    if (lf != nullptr && length > 0 && line_end[-1] == '\r') --length;
    traits.longest_line = std::max(traits.longest_line, length);
    p = lf != nullptr ? lf + 1 : end;
  }
  return traits;
}

bool envelope_needs_smtputf8(const queue::Envelope& env) {
  if (env.smtputf8 || !is_ascii(env.sender)) return true;
  return std::any_of(env.recipients.begin(), env.recipients.end(),
                     [](const queue::Recipient& r) { return !is_ascii(r.address); });
}

ContentVerdict check_content(const queue::Envelope& env, const ContentTraits& traits, uint64_t content_size,
                             const ServerCapabilities& caps) {
  if (!caps.smtputf8 && envelope_needs_smtputf8(env)) return ContentVerdict::NeedsSmtpUtf8;
  if (!caps.eight_bit_mime && traits.eight_bit) return ContentVerdict::NeedsEightBitMime;
  if (caps.size && caps.max_size != 0 && content_size > caps.max_size) return ContentVerdict::TooBig;
  return ContentVerdict::Send;
}

const char* verdict_status(ContentVerdict verdict) {
  switch (verdict) {
    case ContentVerdict::Send: return "";
    case ContentVerdict::NeedsSmtpUtf8: return "5.6.7";
    case ContentVerdict::NeedsEightBitMime: return "5.6.3";
    case ContentVerdict::TooBig: return "5.3.4";
  }
  return "";
}

const char* verdict_reason(ContentVerdict verdict) {
  switch (verdict) {
    case ContentVerdict::Send: return "";
    case ContentVerdict::NeedsSmtpUtf8: return "message needs SMTPUTF8 but the remote server does not offer it";
    case ContentVerdict::NeedsEightBitMime:
      return "message has 8-bit content but the remote server does not offer 8BITMIME";
    case ContentVerdict::TooBig: return "message is larger than the remote server's SIZE limit";
  }
  return "";
}

}  // namespace volley::delivery
