// Verifies one DKIM signature (RFC 6376 6.1, RFC 8463) given the key record
// the caller fetched from DNS (S._domainkey.D TXT). No DNS, no I/O: a DNS
// failure is the caller's temperror, never ours to decide.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dkim/signature.hpp"

namespace volley::dkim {

enum class VerifyStatus {
  Pass,
  Fail,       // the signature does not hold: body hash or signature mismatch, key too small
  PermError,  // cannot be verified as written: bad key record, revoked key, expired, wrong key type
};

const char* verify_status_name(VerifyStatus s);  // "pass" / "fail" / "permerror" (RFC 8601)

struct VerifyResult {
  VerifyStatus status = VerifyStatus::PermError;
  std::string reason;    // empty on pass; e.g. "body hash mismatch"
  bool testing = false;  // the key record has t=y: receivers must not act on a failure
};

// `body_hash_b64` is BodyHasher(sig.body_canon, sig.body_length) over the
// message body; `now_unix` checks x=.
VerifyResult verify(const ParsedSignature& sig, std::string_view header_block, std::string_view body_hash_b64,
                    std::string_view key_record_txt, int64_t now_unix);

}  // namespace volley::dkim
