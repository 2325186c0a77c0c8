#include "platform/unsubscribe_token.hpp"

#include <sodium.h>

#include "platform/token_encoding.hpp"

namespace volley::platform {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kNonceBytes = crypto_stream_chacha20_ietf_NONCEBYTES;  // 12: random per token
constexpr size_t kTagBytes = 16;                                       // 128-bit truncated HMAC
constexpr size_t kMaxAddress = 254, kMaxDomain = 253, kMaxCampaign = 64;

struct Keys {
  Key32 encrypt, mac;
  explicit Keys(std::string_view secret)
      : encrypt(derive_key(secret, "volley unsubscribe v1 encrypt")), mac(derive_key(secret, "volley unsubscribe v1 mac")) {}
};

void xor_stream(std::string& bytes, const std::string& nonce, const Key32& key) {
  auto* p = reinterpret_cast<unsigned char*>(bytes.data());
  crypto_stream_chacha20_ietf_xor(p, p, bytes.size(), reinterpret_cast<const unsigned char*>(nonce.data()), key.data());
}

Error invalid(const char* why) { return make_error(ErrorCode::Invalid, why); }

}  // namespace

Result<std::string> make_unsubscribe_token(std::string_view secret, const UnsubscribeFields& f) {
  if (secret.size() != kUnsubscribeSecretBytes) return invalid("unsubscribe secret must be 32 bytes");
  if (f.address.empty() || f.address.size() > kMaxAddress || f.sender_domain.size() > kMaxDomain ||
      f.campaign_id.size() > kMaxCampaign)
    return invalid("unsubscribe token field empty or too long");
  const Keys keys(secret);
  std::string plain;
  plain += static_cast<char>(f.sender_domain.size());
  plain += f.sender_domain;
  plain += static_cast<char>(f.campaign_id.size());
  plain += f.campaign_id;
  plain += f.address;
  const std::string nonce = random_bytes(kNonceBytes);
  xor_stream(plain, nonce, keys.encrypt);
  std::string token(1, static_cast<char>(kVersion));
  token += nonce;
  token += plain;
  const auto tag = hmac_sha256(keys.mac, token);
  token.append(reinterpret_cast<const char*>(tag.data()), kTagBytes);
  return base64url_encode(token);
}

Result<UnsubscribeFields> open_unsubscribe_token(std::string_view secret, std::string_view token) {
  if (secret.size() != kUnsubscribeSecretBytes) return invalid("unsubscribe secret must be 32 bytes");
  if (token.size() > kMaxUnsubscribeTokenChars) return invalid("token too long");
  auto raw = base64url_decode(token);
  if (!raw) return invalid("token is not base64url");
  if (raw->size() < 1 + kNonceBytes + 3 + kTagBytes) return invalid("token too short");
  if (static_cast<uint8_t>((*raw)[0]) != kVersion) return invalid("unknown token version");
  const Keys keys(secret);
  const std::string_view signed_part = std::string_view(*raw).substr(0, raw->size() - kTagBytes);
  const auto tag = hmac_sha256(keys.mac, signed_part);
  if (!equal_constant_time(tag.data(), reinterpret_cast<const uint8_t*>(raw->data() + signed_part.size()), kTagBytes))
    return invalid("token does not verify");
  const std::string nonce = raw->substr(1, kNonceBytes);
  std::string plain = std::string(signed_part.substr(1 + kNonceBytes));
  xor_stream(plain, nonce, keys.encrypt);
  // Well-formed by construction once the tag verified; checked anyway, so a
  // leaked key or a bug cannot turn into an out-of-range read.
  UnsubscribeFields f;
  size_t at = 0;
  for (std::string* field : {&f.sender_domain, &f.campaign_id}) {
    if (at >= plain.size()) return invalid("token fields malformed");
    const size_t n = static_cast<uint8_t>(plain[at++]);
    if (n > plain.size() - at) return invalid("token fields malformed");
    *field = plain.substr(at, n);
    at += n;
  }
  f.address = plain.substr(at);
  if (f.address.empty()) return invalid("token fields malformed");
  return f;
}

}  // namespace volley::platform
