// Tokens for https://HOST/unsubscribe/TOKEN (List-Unsubscribe, RFC 8058):
// they name the recipient, the sender domain and the campaign without
// showing the address to anyone who sees the URL, and cannot be forged or
// altered without the server secret.
//
// Format (version 1), base64url without padding:
//   0x01 | nonce (12) | ChaCha20(k_enc, nonce) XOR plaintext | tag (16)
//   plaintext = len(domain) domain | len(campaign) campaign | address
//   tag       = HMAC-SHA256(k_mac, 0x01 | nonce | ciphertext), first 16 bytes
//   k_enc     = HMAC-SHA256(secret, "volley unsubscribe v1 encrypt")
//   k_mac     = HMAC-SHA256(secret, "volley unsubscribe v1 mac")
// Encrypt-then-MAC: the tag is checked (in constant time) before anything
// is decrypted, so any changed byte, the version included, is refused.
// Size: 31 bytes + the three fields; alice.smith@example.com for
// example.com with a 20-character campaign id is 85 bytes, 114 characters.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace volley::platform {

struct UnsubscribeFields {
  std::string address;        // the recipient's addr-spec, up to 254 bytes
  std::string sender_domain;  // the domain whose mail they leave, up to 253 bytes
  std::string campaign_id;    // may be empty; up to 64 bytes

  bool operator==(const UnsubscribeFields&) const = default;
};

inline constexpr size_t kUnsubscribeSecretBytes = 32;
// A token longer than this is not ours (the fields' maxima make 602 bytes,
// 803 characters); refused before decoding.
inline constexpr size_t kMaxUnsubscribeTokenChars = 803;

// ErrorCode::Invalid for a secret that is not 32 bytes or an over-long field.
Result<std::string> make_unsubscribe_token(std::string_view secret, const UnsubscribeFields& fields);
// ErrorCode::Invalid for anything not made by make_unsubscribe_token with
// this secret: bad encoding, unknown version, wrong tag, malformed fields.
Result<UnsubscribeFields> open_unsubscribe_token(std::string_view secret, std::string_view token);

}  // namespace volley::platform
