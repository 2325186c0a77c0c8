#include "dkim/verifier.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <memory>

#include "dkim/header_hash.hpp"
#include "dkim/key_record.hpp"
#include "dkim/limits.hpp"
#include "dkim/signing_key.hpp"
#include "util/strings.hpp"

namespace volley::dkim {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

VerifyResult result(VerifyStatus s, std::string reason, bool testing = false) { return {s, std::move(reason), testing}; }

// p= of an RSA record is a SubjectPublicKeyInfo (RFC 6376 3.6.1); some
// publishers put a bare PKCS#1 RSAPublicKey there, which verifiers accept.
Pkey rsa_public_key(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key) {
    p = reinterpret_cast<const unsigned char*>(der.data());
    key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size())));
  }
  ERR_clear_error();
  if (key && EVP_PKEY_is_a(key.get(), "RSA") != 1) key.reset();
  return key;
}

// RFC 8463 3: PureEd25519 over SHA-256(data), checked with libsodium (the
// same library that signs; see signing_key.hpp for why not OpenSSL).
bool verify_ed25519(const std::string& public_key, std::string_view data, const std::string& signature) {
  if (!sodium_ready() || public_key.size() != crypto_sign_ed25519_PUBLICKEYBYTES ||
      signature.size() != crypto_sign_ed25519_BYTES)
    return false;
  const std::string digest = sha256(data);
  return crypto_sign_ed25519_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                             reinterpret_cast<const unsigned char*>(digest.data()), digest.size(),
                                             reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

bool verify_rsa(EVP_PKEY* key, std::string_view data, const std::string& signature) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  const EVP_MD* md = sha256_md();
  bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  ERR_clear_error();
  return ok;
}

// i= must be exactly d= when the key record says t=s.
bool identity_domain_is(std::string_view identity, std::string_view domain) {
  size_t at = identity.rfind('@');
  return at != std::string_view::npos && iequals(identity.substr(at + 1), domain);
}

}  // namespace

const char* verify_status_name(VerifyStatus s) {
  switch (s) {
    case VerifyStatus::Pass: return "pass";
    case VerifyStatus::Fail: return "fail";
    case VerifyStatus::PermError: return "permerror";
  }
  return "permerror";
}

VerifyResult verify(const ParsedSignature& sig, std::string_view header_block, std::string_view body_hash_b64,
                    std::string_view key_record_txt, int64_t now_unix) {
  if (sig.expiration && *sig.expiration < now_unix) return result(VerifyStatus::PermError, "signature expired");
  auto record = parse_key_record(key_record_txt);
  if (!record) return result(VerifyStatus::PermError, record.error().message);
  const KeyRecord& key = record.value();
  const bool t = key.testing;
  if (key.public_key.empty()) return result(VerifyStatus::PermError, "key revoked", t);
  if (key.type != key_type_for(sig.algorithm))
    return result(VerifyStatus::PermError, "key type does not match a=", t);
  if (key.strict_identity && !identity_domain_is(sig.identity, sig.domain))
    return result(VerifyStatus::PermError, "key has t=s but i= is a subdomain of d=", t);

  const bool ed25519 = key.type == KeyType::Ed25519;
  Pkey pkey;
  if (ed25519) {
    if (key.public_key.size() != 32) return result(VerifyStatus::PermError, "Ed25519 key is not 32 bytes", t);
  } else {
    pkey = rsa_public_key(key.public_key);
    if (pkey) {
      int bits = EVP_PKEY_get_bits(pkey.get());
      if (bits < kMinVerifyingRsaBits)
        return result(VerifyStatus::Fail, "key too small (" + std::to_string(bits) + " bits)", t);
      if (bits > kMaxRsaBits)
        return result(VerifyStatus::PermError, "key too large (" + std::to_string(bits) + " bits)", t);
    }
  }
  if (!ed25519 && !pkey) return result(VerifyStatus::PermError, "key record p= is not a public key", t);

  if (body_hash_b64 != sig.body_hash_b64) return result(VerifyStatus::Fail, "body hash mismatch", t);
  std::string self = sig.raw_field;
  self.erase(sig.b_value_begin, sig.b_value_end - sig.b_value_begin);
  std::string input = signing_input(header_block, sig.signed_headers, sig.header_canon, self);
  const bool good = ed25519 ? verify_ed25519(key.public_key, input, sig.signature)
                            : verify_rsa(pkey.get(), input, sig.signature);
  if (!good)
    return result(VerifyStatus::Fail, "signature mismatch", t);
  return result(VerifyStatus::Pass, "", t);
}

}  // namespace volley::dkim
