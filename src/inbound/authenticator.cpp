#include "inbound/authenticator.hpp"

#include <algorithm>

#include "auth/password.hpp"
#include "util/strings.hpp"

namespace volley::inbound {
namespace {

const std::string& dummy_hash() {
  static const std::string hash = [] {
    auto h = auth::hash_password("volley-timing-equaliser");
    return h.ok() ? h.value() : std::string();
  }();
  return hash;
}

Error invalid_credentials() { return make_error(ErrorCode::Permanent, "authentication credentials invalid"); }

}  // namespace

bool Authenticator::is_local_domain(std::string_view address) const {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  const std::string_view domain = address.substr(at + 1);
  return std::find(local_domains_.begin(), local_domains_.end(), domain) != local_domains_.end();
}

Result<std::string> Authenticator::check(const auth::Credentials& c, const std::string& client_ip) const {
  // The budget is taken before any work, so parallel connections from one
  // address cannot run more checks than it allows.
  if (!throttle_.admit(client_ip))
    return make_error(ErrorCode::RateLimited, "too many authentication failures from " + client_ip);
  // PLAIN's authorization identity may only name the user itself: one
  // account never acts as another.
  const bool foreign_authzid = !c.authzid.empty() && !iequals(c.authzid, c.authcid);
  auto user = users_.find(c.authcid);
  if (!user && user.error().temporary()) {
    throttle_.release(client_ip);  // not the client's fault: the attempt is not counted
    return user.error();
  }
  // A user whose domain is no longer local (configuration changed) cannot log in.
  if (!user || foreign_authzid || !is_local_domain(user->address)) {
    (void)auth::verify_password(c.password, dummy_hash());
    return invalid_credentials();
  }
  const bool cached = cache_ && cache_->verified(user->address, c.password, user->password_hash);
  if (!cached) {
    if (!auth::verify_password(c.password, user->password_hash)) return invalid_credentials();
    if (cache_) cache_->remember(user->address, c.password, user->password_hash);
  }
  throttle_.release(client_ip);
  return user->address;
}

std::chrono::milliseconds Authenticator::failure_delay(const Error& error, const std::string& client_ip) const {
  if (error.code != ErrorCode::Permanent) return std::chrono::milliseconds(0);
  return throttle_.record_failure(client_ip);
}

}  // namespace volley::inbound
