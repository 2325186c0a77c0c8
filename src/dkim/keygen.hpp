// DKIM key generation and the DNS record that publishes the public key
// (`volley dkim keygen`).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "dkim/signing_key.hpp"
#include "util/result.hpp"

namespace volley::dkim {

// A new key: RSA of `rsa_bits` (kMinSigningRsaBits..kMaxRsaBits) or Ed25519.
Result<std::shared_ptr<const SigningKey>> generate_key(Algorithm algorithm, int rsa_bits);

// The key record text: "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" or
// "v=DKIM1; k=ed25519; p=<raw 32-byte key>" (RFC 8463 4), base64.
Result<std::string> key_record_text(const SigningKey& key);

// `S._domainkey.D. IN TXT "..." "..."`: the record as zone-file text, cut
// into character-strings of at most kMaxTxtStringBytes.
std::string dns_record_line(std::string_view selector, std::string_view domain, std::string_view record_text);

// `NAME. IN TXT "..." "..."`: any TXT record as zone-file text, cut the same
// way (`volley doctor` prints SPF and DMARC records to publish with it).
std::string txt_record_line(std::string_view name, std::string_view record_text);

}  // namespace volley::dkim
