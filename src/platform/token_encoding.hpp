// Text encodings for tokens that travel in URLs and addresses, and the
// keyed primitives they share (libsodium).
//  - base32: RFC 4648 alphabet in lower case, no padding; decoding ignores
//    case, because receivers may lowercase an address's local part.
//  - base64url: RFC 4648 section 5, no padding (URL path segments).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace volley::platform {

std::string base32_encode(std::string_view bytes);
std::optional<std::string> base32_decode(std::string_view text);  // any case; nullopt on a bad character or tail

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);  // strict: no padding, no whitespace

using Key32 = std::array<uint8_t, 32>;
// A key for one purpose, derived from a server secret: HMAC-SHA256(secret,
// label). Distinct labels give independent keys (HKDF-Expand with one block).
Key32 derive_key(std::string_view secret, std::string_view label);
std::array<uint8_t, 32> hmac_sha256(const Key32& key, std::string_view data);
// Constant-time comparison of equal-length byte strings.
bool equal_constant_time(const uint8_t* a, const uint8_t* b, size_t n);
// n random bytes (libsodium's CSPRNG).
std::string random_bytes(size_t n);

}  // namespace volley::platform
