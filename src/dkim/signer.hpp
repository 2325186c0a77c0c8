// Makes the DKIM-Signature header field for a message (RFC 6376 5,
// relaxed/relaxed). Thread-safe: the key is only read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/signing_key.hpp"
#include "util/result.hpp"

namespace volley::dkim {

// The header names we sign, each as often as it is present, From once more
// (over-signing: a From added later breaks the signature).
inline constexpr std::string_view kSignedHeaderNames[] = {
    "From",          "To",         "Cc",          "Subject",          "Date",
    "Message-ID",    "Reply-To",   "MIME-Version", "Content-Type",     "Content-Transfer-Encoding",
    "List-Unsubscribe", "List-Unsubscribe-Post", "In-Reply-To", "References", "Sender"};

// The h= list for `header_block`, lowercased, in kSignedHeaderNames order.
std::vector<std::string> headers_to_sign(std::string_view header_block);

// The complete "DKIM-Signature: ...\r\n" field, folded at 78 columns, b= last.
// `body_hash_b64` comes from a BodyHasher(Canon::Relaxed) over the body;
// `now_unix` becomes t=. Fails on a domain or selector that is not a DNS
// name (valid_dns_name), or if OpenSSL does.
Result<std::string> sign(const SigningKey& key, std::string_view domain, std::string_view selector,
                         std::string_view header_block, std::string_view body_hash_b64, int64_t now_unix);

}  // namespace volley::dkim
