// Checks SMTP AUTH credentials against the in-memory user snapshot, under
// the per-address attempt budget (auth::AuthThrottle) shared by every
// connection. Written for SMTP; POP3 and IMAP logins use it the same way.
// Successful verifications are remembered in an auth::LoginCache (shared by
// every protocol, owned by the runtime so it outlives configuration reloads),
// so a client that polls pays for yescrypt once per TTL, not once per login.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "auth/auth_throttle.hpp"
#include "auth/login_cache.hpp"
#include "auth/sasl.hpp"
#include "auth/user_directory.hpp"
#include "util/result.hpp"

namespace volley::inbound {

class Authenticator {
 public:
  // `cache` may be null (no caching); it must outlive the authenticator.
  Authenticator(const auth::UserDirectory& users, auth::AuthThrottle& throttle, std::vector<std::string> local_domains,
                auth::LoginCache* cache = nullptr)
      : users_(users), throttle_(throttle), local_domains_(std::move(local_domains)), cache_(cache) {}

  // Blocking (a password hash is slow by design): run it on a worker pool,
  // never on an I/O thread. Ok: the user's canonical address. Errors:
  //   RateLimited  the address has spent its failure budget; no password was checked
  //   Permanent    the credentials are wrong (unknown user or bad password)
  //   other        the users cannot be read now (temporary: 454 4.7.0)
  // An unknown user still costs one hash, so timing does not reveal which
  // users exist. A login found in the login cache (same user, password and
  // current hash) costs an HMAC instead of a hash; only successes are
  // cached, so a guess always costs a full hash.
  Result<std::string> check(const auth::Credentials& credentials, const std::string& client_ip) const;

  // After check() failed: records a wrong-credentials failure against the
  // address and returns how long to wait before answering it (zero for
  // other errors, which must stay cheap).
  std::chrono::milliseconds failure_delay(const Error& error, const std::string& client_ip) const;

 private:
  bool is_local_domain(std::string_view address) const;

  const auth::UserDirectory& users_;
  auth::AuthThrottle& throttle_;
  std::vector<std::string> local_domains_;
  auth::LoginCache* cache_;
};

}  // namespace volley::inbound
