// Password hashing for mailbox users: yescrypt through libxcrypt
// (crypt_gensalt_ra("$y$") + crypt_rn). Salted, slow by design, the same
// format /etc/shadow uses on Debian 12, so operators can recognise it.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace volley::auth {

// Returns "$y$..." or an error (entropy or libcrypt failure).
Result<std::string> hash_password(std::string_view password);
// Constant-time comparison of crypt output; false on any malformed hash.
// Slow (tens of ms): never call on an I/O thread.
bool verify_password(std::string_view password, const std::string& stored_hash);

}  // namespace volley::auth
