#include "dkim/keygen.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim/limits.hpp"
#include "util/base64.hpp"

namespace volley::dkim {

Result<std::shared_ptr<const SigningKey>> generate_key(Algorithm algorithm, int rsa_bits) {
  EVP_PKEY* raw = nullptr;
  if (algorithm == Algorithm::RsaSha256) {
    if (rsa_bits < kMinSigningRsaBits || rsa_bits > kMaxRsaBits)
      return Error{ErrorCode::Invalid, "RSA key size must be " + std::to_string(kMinSigningRsaBits) + " to " +
                                           std::to_string(kMaxRsaBits) + " bits"};
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (raw == nullptr) {
    ERR_clear_error();
    return Error{ErrorCode::Failed, "key generation failed"};
  }
  return make_signing_key(std::shared_ptr<evp_pkey_st>(raw, EVP_PKEY_free), algorithm);
}

Result<std::string> key_record_text(const SigningKey& key) {
  std::string pub;
  if (key.algorithm == Algorithm::Ed25519Sha256) {
    size_t len = 0;
    if (EVP_PKEY_get_raw_public_key(key.pkey.get(), nullptr, &len) != 1) return Error{ErrorCode::Failed, "no public key"};
    pub.resize(len);
    if (EVP_PKEY_get_raw_public_key(key.pkey.get(), reinterpret_cast<unsigned char*>(pub.data()), &len) != 1)
      return Error{ErrorCode::Failed, "no public key"};
    pub.resize(len);
  } else {
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(key.pkey.get(), &der);
    if (len <= 0) return Error{ErrorCode::Failed, "no public key"};
    pub.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  const char* k = key.algorithm == Algorithm::Ed25519Sha256 ? "ed25519" : "rsa";
  return std::string("v=DKIM1; k=") + k + "; p=" + base64_encode(pub);
}

std::string dns_record_line(std::string_view selector, std::string_view domain, std::string_view record_text) {
  std::string name;
  name.append(selector).append("._domainkey.").append(domain);
  return txt_record_line(name, record_text);
}

std::string txt_record_line(std::string_view name, std::string_view record_text) {
  std::string out;
  out.append(name).append(". IN TXT");
  for (size_t pos = 0; pos < record_text.size(); pos += kMaxTxtStringBytes) {
    out.append(" \"").append(record_text.substr(pos, kMaxTxtStringBytes)).append("\"");
  }
  return out;
}

}  // namespace volley::dkim
