// A bounded in-memory cache of recent successful password verifications, so
// a mail client that logs in every minute (POP3 polling, SMTP submission)
// does not cost a full yescrypt each time (Dovecot's auth cache does the
// same, auth_cache_ttl = 1 h by default).
//
// Why it is safe:
//  * The key is HMAC-SHA256(per-process random key, user || password): the
//    cache never holds a password, and a memory dump gives nothing to test
//    guesses against offline (the HMAC key is random per process).
//  * Each entry stores the password hash it was verified against. A hit
//    counts only when the user's *current* hash (auth::UserDirectory) is the
//    same, so `volley user passwd` invalidates it at once; a deleted user has
//    no current hash, and a re-added one has a new salt, hence a new hash.
//  * Only successes are stored: a wrong guess always costs a full hash and
//    goes through the failure budget (auth::AuthThrottle).
//  * Bounded: at most `max_entries` (least recently used evicted) and each
//    entry lives `ttl` from the verification that created it.
// Thread-safe (one mutex, held for a hash-map probe; the HMAC is computed
// outside it).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/clock.hpp"

namespace volley::auth {

struct LoginCacheSettings {
  // Dovecot's auth_cache_ttl default: a password changed elsewhere (not
  // through our store) is honoured within this time at the latest.
  std::chrono::seconds ttl{3600};
  // ~200 bytes an entry: 10,000 active users cost about 2 MB.
  size_t max_entries = 10000;
};

class LoginCache {
 public:
  using Settings = LoginCacheSettings;
  explicit LoginCache(Settings s = Settings(), const Clock& clock = system_clock());
  LoginCache(const LoginCache&) = delete;
  LoginCache& operator=(const LoginCache&) = delete;

  // True when `user` logged in with `password` within the TTL and the hash
  // it was verified against is still `current_hash`. A stale entry (other
  // hash, expired) is dropped.
  bool verified(std::string_view user, std::string_view password, std::string_view current_hash);
  // Records a successful verification of `password` against `hash`.
  void remember(std::string_view user, std::string_view password, std::string_view hash);
  // Forgets every entry of every user (configuration change, tests).
  void clear();
  size_t size() const;

 private:
  using Key = std::array<unsigned char, 32>;
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept;
  };
  struct Entry {
    Key key;
    std::string password_hash;
    Clock::SteadyTime expires;
  };
  Key key_for(std::string_view user, std::string_view password) const;
  void erase_locked(std::list<Entry>::iterator it);

  Settings s_;
  const Clock& clock_;
  std::array<unsigned char, 32> hmac_key_{};
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> index_;
};

}  // namespace volley::auth
