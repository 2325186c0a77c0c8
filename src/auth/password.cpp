#include "auth/password.hpp"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>

#include <cstring>
#include <memory>

namespace volley::auth {
namespace {

// libxcrypt refuses longer phrases (ERANGE); checking first turns that into a
// readable message instead of a generic failure.
constexpr size_t kMaxPassword = CRYPT_MAX_PASSPHRASE_SIZE - 1;

// crypt_data is 32 KiB: too big for the small stacks of pool threads, so it
// lives on the heap, zeroed as libxcrypt requires before first use and wiped
// afterwards because it holds password-derived state.
struct CryptScratch {
  CryptScratch() : data(std::make_unique<crypt_data>()) { std::memset(data.get(), 0, sizeof(crypt_data)); }
  ~CryptScratch() { OPENSSL_cleanse(data.get(), sizeof(crypt_data)); }
  CryptScratch(const CryptScratch&) = delete;
  CryptScratch& operator=(const CryptScratch&) = delete;
  std::unique_ptr<crypt_data> data;
};

// crypt() takes a C string: an embedded NUL would silently truncate the
// password, so such input is never hashed or verified.
bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// Runs crypt_rn; returns nullptr on any failure. crypt_rn never returns the
// "*0"/"*1" failure tokens, but checking costs nothing and guards against a
// library built with the legacy behaviour.
const char* run_crypt(CryptScratch& scratch, const std::string& phrase, const char* setting) {
  const char* out = crypt_rn(phrase.c_str(), setting, scratch.data.get(), static_cast<int>(sizeof(crypt_data)));
  if (out == nullptr || out[0] == '*' || out[0] == '\0') return nullptr;
  return out;
}

}  // namespace

Result<std::string> hash_password(std::string_view password) {
  if (has_nul(password)) return make_error("password contains a NUL byte");
  if (password.size() > kMaxPassword) return make_error("password too long (max " + std::to_string(kMaxPassword) + " bytes)");

  // count 0 = the library's default yescrypt cost; NULL rbytes = salt from
  // the OS random source (getrandom).
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  errno = 0;
  if (crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting) == nullptr || setting[0] == '*') {
    return make_error(std::string("cannot generate salt: ") + (errno ? std::strerror(errno) : "libcrypt failure"));
  }

  CryptScratch scratch;
  std::string phrase(password);
  const char* out = run_crypt(scratch, phrase, setting);
  OPENSSL_cleanse(phrase.data(), phrase.size());
  if (out == nullptr) return make_error("password hashing failed");
  return std::string(out);
}

bool verify_password(std::string_view password, const std::string& stored_hash) {
  // Only modern "$id$" formats: a legacy DES or empty hash would let a short
  // or blank password through.
  if (stored_hash.size() < 4 || stored_hash[0] != '$' || has_nul(stored_hash)) return false;
  if (has_nul(password) || password.size() > kMaxPassword) return false;

  CryptScratch scratch;
  std::string phrase(password);
  const char* out = run_crypt(scratch, phrase, stored_hash.c_str());
  OPENSSL_cleanse(phrase.data(), phrase.size());
  if (out == nullptr) return false;
  // The output length depends only on the (public) setting, so comparing
  // lengths first leaks nothing; the bytes are compared in constant time.
  size_t len = std::strlen(out);
  if (len != stored_hash.size()) return false;
  return CRYPTO_memcmp(out, stored_hash.data(), len) == 0;
}

}  // namespace volley::auth
