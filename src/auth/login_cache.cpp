#include "auth/login_cache.hpp"

#include <sodium.h>

#include <cstdint>
#include <cstring>
#include <iterator>

namespace volley::auth {
namespace {

bool sodium_ready() {
  // sodium_init() takes a global lock on every call: once per process.
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

size_t LoginCache::KeyHash::operator()(const Key& k) const noexcept {
  // The key is already a keyed MAC: any 8 bytes of it are uniformly spread.
  uint64_t h;
  std::memcpy(&h, k.data(), sizeof h);
  return static_cast<size_t>(h);
}

LoginCache::LoginCache(Settings s, const Clock& clock) : s_(s), clock_(clock) {
  if (s_.max_entries == 0) s_.max_entries = 1;
  if (sodium_ready()) {
    randombytes_buf(hmac_key_.data(), hmac_key_.size());
  } else {
    // Without libsodium's generator nothing is cached (every key below is
    // refused), so a predictable key can never be used.
    s_.ttl = std::chrono::seconds(0);
  }
}

LoginCache::Key LoginCache::key_for(std::string_view user, std::string_view password) const {
  // The user's length first, so ("ab", "c") and ("a", "bc") differ.
  const uint64_t user_len = user.size();
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(user_len >> (8 * i));
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, hmac_key_.data(), hmac_key_.size());
  crypto_auth_hmacsha256_update(&st, len_bytes, sizeof len_bytes);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(user.data()), user.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(password.data()), password.size());
  Key out;
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

void LoginCache::erase_locked(std::list<Entry>::iterator it) {
  index_.erase(it->key);
  lru_.erase(it);
}

bool LoginCache::verified(std::string_view user, std::string_view password, std::string_view current_hash) {
  if (s_.ttl.count() <= 0 || current_hash.empty()) return false;
  const Key key = key_for(user, password);
  const auto now = clock_.steady_now();
  std::lock_guard lock(mu_);
  auto found = index_.find(key);
  if (found == index_.end()) return false;
  auto it = found->second;
  if (now >= it->expires || it->password_hash != current_hash) {
    erase_locked(it);  // expired, or the password changed since
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it);
  return true;
}

void LoginCache::remember(std::string_view user, std::string_view password, std::string_view hash) {
  if (s_.ttl.count() <= 0 || hash.empty()) return;
  const Key key = key_for(user, password);
  const auto expires = clock_.steady_now() + s_.ttl;
  std::lock_guard lock(mu_);
  if (auto found = index_.find(key); found != index_.end()) erase_locked(found->second);
  while (lru_.size() >= s_.max_entries) erase_locked(std::prev(lru_.end()));
  lru_.push_front(Entry{key, std::string(hash), expires});
  index_.emplace(key, lru_.begin());
}

void LoginCache::clear() {
  std::lock_guard lock(mu_);
  index_.clear();
  lru_.clear();
}

size_t LoginCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace volley::auth
