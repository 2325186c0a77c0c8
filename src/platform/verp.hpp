// VERP return paths: each recipient of each message gets its own envelope
// sender, so a bounce names what bounced even when the DSN itself is
// useless (and many are).
//
//   bounces+<MESSAGE-ID>-<INDEX>-<MAC>@<domain>
//   MESSAGE-ID  [0-9A-Z]{1,30} (a queue id is 20), compared without case
//   INDEX       the recipient's index in the message, decimal, < 10,000,000
//   MAC         HMAC-SHA256(k, "MESSAGE-ID:INDEX"), first 10 bytes, base32
//               lower case (16 characters); k = HMAC-SHA256(secret, "volley verp v1")
// Only letters, digits, '+' and '-': an unquoted dot-atom local part; at
// most 63 characters (RFC 5321 allows 64); and case-insensitive throughout,
// because receivers may lowercase the local part of a return path.
// 80 MAC bits: forging one needs ~2^79 tries against our MX.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace volley::platform {

struct BounceTarget {
  std::string message_id;  // upper case
  uint32_t recipient_index = 0;

  bool operator==(const BounceTarget&) const = default;
};

inline constexpr size_t kMaxVerpMessageIdChars = 30;   // keeps the local part within 64
inline constexpr uint32_t kMaxVerpRecipientIndex = 9'999'999;

// ErrorCode::Invalid for a secret that is not 32 bytes, a message id that is
// not [0-9A-Za-z]{1,30}, an index over the maximum, or an empty domain.
Result<std::string> bounce_address(std::string_view secret, std::string_view message_id, uint32_t recipient_index,
                                   std::string_view domain);
// The local part (with or without "bounces+", any case) back to what it
// names; ErrorCode::Invalid unless its MAC verifies.
Result<BounceTarget> parse_bounce_address(std::string_view secret, std::string_view local_part);

}  // namespace volley::platform
