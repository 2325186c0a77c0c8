// The DKIM key record published at S._domainkey.D TXT (RFC 6376 3.6.1,
// RFC 8463 4). Pure: the caller fetched the TXT text (its strings joined).
#pragma once

#include <string>
#include <string_view>

#include "dkim/signature.hpp"
#include "util/result.hpp"

namespace volley::dkim {

enum class KeyType { Rsa, Ed25519 };

struct KeyRecord {
  KeyType type = KeyType::Rsa;     // k=, default rsa
  std::string public_key;          // p= decoded; empty: the key is revoked
  bool testing = false;            // t=y
  bool strict_identity = false;    // t=s: i= must be exactly d=, no subdomain
};

// Fails (ErrorCode::Invalid, a reason) on bad syntax, v= other than DKIM1
// (when present it must come first), an unknown k=, an h= without sha256,
// an s= without "*" or "email", a missing p= or p= that is not base64.
Result<KeyRecord> parse_key_record(std::string_view txt);

// The key type an algorithm needs.
KeyType key_type_for(Algorithm a);

}  // namespace volley::dkim
