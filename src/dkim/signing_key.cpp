#include "dkim/signing_key.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "dkim/limits.hpp"

namespace volley::dkim {

namespace {

std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

// A sign-initialised context for `pkey`: PKCS#1 v1.5, SHA-256 (RFC 6376 3.3).
Result<PkeyCtx> prepared_rsa_context(EVP_PKEY* pkey) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), sha256_md()) != 1)
    return Error{ErrorCode::Failed, "DKIM sign: cannot prepare the RSA context: " + openssl_reason()};
  return ctx;
}

}  // namespace

// Contexts are taken for one signature and put back; a context is never used
// by two threads at once. The pool grows to the number of threads that sign
// at the same time and stays there (bounded by kMaxIdle beyond that).
struct RsaContextPool {
  static constexpr size_t kMaxIdle = 64;
  EVP_PKEY* pkey = nullptr;  // owned by the SigningKey
  std::mutex mu;
  std::vector<PkeyCtx> idle;

  Result<PkeyCtx> take() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        PkeyCtx c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
    }
    return prepared_rsa_context(pkey);
  }
  void give_back(PkeyCtx c) {
    std::lock_guard lock(mu);
    if (idle.size() < kMaxIdle) idle.push_back(std::move(c));
  }
};

const evp_md_st* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md != nullptr ? md : EVP_sha256();
}

SigningKey::~SigningKey() { sodium_memzero(ed25519_secret.data(), ed25519_secret.size()); }

bool sodium_ready() {
  // sodium_init() takes a global lock on every call (libsodium 1.0.18), so
  // it runs once here rather than per signature.
  static const bool ready = sodium_init() >= 0;
  return ready;
}

Result<std::shared_ptr<const SigningKey>> make_signing_key(std::shared_ptr<evp_pkey_st> pkey, Algorithm algorithm) {
  if (!pkey) return Error{ErrorCode::Invalid, "no key"};
  auto key = std::make_shared<SigningKey>();
  key->algorithm = algorithm;
  key->bits = EVP_PKEY_get_bits(pkey.get());
  const bool rsa = EVP_PKEY_is_a(pkey.get(), "RSA") == 1;
  const bool ed = EVP_PKEY_is_a(pkey.get(), "ED25519") == 1;
  if (algorithm == Algorithm::RsaSha256 && !rsa) return Error{ErrorCode::Invalid, "not an RSA key (algorithm rsa-sha256)"};
  if (algorithm == Algorithm::Ed25519Sha256 && !ed)
    return Error{ErrorCode::Invalid, "not an Ed25519 key (algorithm ed25519-sha256)"};
  if (rsa && key->bits < kMinSigningRsaBits)
    return Error{ErrorCode::Invalid, "RSA key of " + std::to_string(key->bits) + " bits; signing needs at least " +
                                         std::to_string(kMinSigningRsaBits)};
  if (rsa && key->bits > kMaxRsaBits)
    return Error{ErrorCode::Invalid, "RSA key of " + std::to_string(key->bits) + " bits; receivers refuse over " +
                                         std::to_string(kMaxRsaBits)};
  if (ed) {
    if (!sodium_ready()) return Error{ErrorCode::Failed, "libsodium failed to initialise"};
    unsigned char seed[32];
    size_t len = sizeof seed;
    if (EVP_PKEY_get_raw_private_key(pkey.get(), seed, &len) != 1 || len != sizeof seed)
      return Error{ErrorCode::Invalid, "cannot read the Ed25519 private key: " + openssl_reason()};
    unsigned char pub[32];
    const int rc = crypto_sign_ed25519_seed_keypair(pub, key->ed25519_secret.data(), seed);
    sodium_memzero(seed, sizeof seed);
    if (rc != 0) return Error{ErrorCode::Failed, "libsodium could not expand the Ed25519 key"};
  }
  if (rsa) {
    auto pool = std::make_shared<RsaContextPool>();
    pool->pkey = pkey.get();
    auto first = prepared_rsa_context(pkey.get());  // fails here, at load, rather than per message
    if (!first) return first.error();
    pool->give_back(std::move(first.value()));
    key->rsa_contexts = std::move(pool);
  }
  key->pkey = std::move(pkey);
  return std::shared_ptr<const SigningKey>(std::move(key));
}

Result<std::shared_ptr<const SigningKey>> load_signing_key(const std::string& path, Algorithm algorithm) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return Error{ErrorCode::Invalid, "DKIM key " + path + ": cannot open: " + std::strerror(errno)};
  }
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) return Error{ErrorCode::Invalid, "DKIM key " + path + ": no PEM private key: " + openssl_reason()};
  auto key = make_signing_key(std::shared_ptr<evp_pkey_st>(raw, EVP_PKEY_free), algorithm);
  if (!key) return Error{ErrorCode::Invalid, "DKIM key " + path + ": " + key.error().message};
  return key;
}

Result<std::string> sign_data(const SigningKey& key, std::string_view data) {
  if (key.algorithm == Algorithm::Ed25519Sha256) {
    const std::string digest = sha256(data);  // RFC 8463: Ed25519 signs the SHA-256 of the data
    std::string sig(crypto_sign_ed25519_BYTES, '\0');
    if (crypto_sign_ed25519_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                                     reinterpret_cast<const unsigned char*>(digest.data()), digest.size(),
                                     key.ed25519_secret.data()) != 0)
      return Error{ErrorCode::Failed, "DKIM sign: libsodium Ed25519 signing failed"};
    return sig;
  }
  // A key built without make_signing_key (tests) has no pool: one-off context.
  auto ctx = key.rsa_contexts ? key.rsa_contexts->take() : prepared_rsa_context(key.pkey.get());
  if (!ctx) return ctx.error();
  const std::string digest = sha256(data);
  const auto* md = reinterpret_cast<const unsigned char*>(digest.data());
  size_t len = 0;
  if (EVP_PKEY_sign(ctx.value().get(), nullptr, &len, md, digest.size()) != 1)
    return Error{ErrorCode::Failed, "DKIM sign: " + openssl_reason()};
  std::string sig(len, '\0');
  if (EVP_PKEY_sign(ctx.value().get(), reinterpret_cast<unsigned char*>(sig.data()), &len, md, digest.size()) != 1)
    return Error{ErrorCode::Failed, "DKIM sign: " + openssl_reason()};
  sig.resize(len);
  if (key.rsa_contexts) key.rsa_contexts->give_back(std::move(ctx.value()));
  return sig;
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, sha256_md(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

Result<std::string> private_key_pem(const SigningKey& key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return Error{ErrorCode::Failed, "cannot write PEM: " + openssl_reason()};
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace volley::dkim
