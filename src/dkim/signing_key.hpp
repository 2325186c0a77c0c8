// A private key for DKIM signing, loaded once and shared read-only by every
// I/O thread: OpenSSL 3 allows concurrent use of one EVP_PKEY as long as
// nobody changes it.
//
// RSA signatures reuse prepared EVP_PKEY_CTXs (sign-initialised once, with
// PKCS#1 v1.5 padding and SHA-256 set) from a small pool: OpenSSL 3.0 looks
// the algorithms up in its provider store, under locks every thread shares,
// on each EVP_DigestSignInit, which made a signature in the daemon (two I/O
// threads signing at once) cost far more than the RSA operation itself.
//
// Ed25519 signatures are made with libsodium rather than OpenSSL: on this
// project's machines its signing is 2.4x faster (16.6 vs 39.4 us, OpenSSL
// 3.0's EVP path sets up a context and fetches the algorithm per call), and
// signing is most of what DKIM adds to intake. The EVP_PKEY stays the key's
// one source (PEM in and out, the public key for keygen's record).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "dkim/signature.hpp"
#include "util/result.hpp"

struct evp_pkey_st;
struct evp_md_st;

namespace volley::dkim {
struct RsaContextPool;  // signing_key.cpp
}

namespace volley::dkim {

struct SigningKey {
  SigningKey() = default;
  SigningKey(Algorithm a, int b, std::shared_ptr<evp_pkey_st> k) : algorithm(a), bits(b), pkey(std::move(k)) {}
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();  // wipes ed25519_secret

  Algorithm algorithm = Algorithm::RsaSha256;
  int bits = 0;  // RSA modulus size; 256 for Ed25519
  std::shared_ptr<evp_pkey_st> pkey;
  // Ed25519 only: libsodium's secret key (32-byte seed, then the public key),
  // derived from pkey by make_signing_key.
  std::array<unsigned char, 64> ed25519_secret{};
  // RSA only: prepared signing contexts, made by make_signing_key.
  std::shared_ptr<RsaContextPool> rsa_contexts;
};

// SHA-256 fetched from OpenSSL's provider once per process (the legacy
// EVP_sha256() is looked up again on every use in OpenSSL 3.0).
const evp_md_st* sha256_md();

// libsodium must be initialised once before use; cheap after the first call.
bool sodium_ready();

// Reads a PEM private key (PKCS#8 or traditional RSA). Fails with a reason
// naming `path` when the file cannot be read, holds no key, holds a key of
// another type than `algorithm`, or an RSA key under kMinSigningRsaBits.
Result<std::shared_ptr<const SigningKey>> load_signing_key(const std::string& path, Algorithm algorithm);

// Wraps a key made in memory (keygen, tests). Same checks as loading.
Result<std::shared_ptr<const SigningKey>> make_signing_key(std::shared_ptr<evp_pkey_st> pkey, Algorithm algorithm);

// The raw signature over `data` (RFC 6376 3.3: rsa-sha256 is RSASSA-PKCS1-v1_5
// with SHA-256; RFC 8463 3: ed25519-sha256 is PureEd25519 over SHA-256(data)).
Result<std::string> sign_data(const SigningKey& key, std::string_view data);

// SHA-256 of `data`, raw 32 bytes.
std::string sha256(std::string_view data);

// PEM (PKCS#8) text of the private key, for keygen.
Result<std::string> private_key_pem(const SigningKey& key);

}  // namespace volley::dkim
