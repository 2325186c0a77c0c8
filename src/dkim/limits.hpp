// DKIM limits (RFC 6376, RFC 8463), one place with the reason for each. A
// DKIM-Signature header and a key record are attacker-controlled (any sender
// writes the first, any DNS zone the second), so every count and length the
// parsers accept is bounded here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace volley::dkim {

// Tags in one tag-list. A signature uses at most 14 defined tags, a key
// record 6; room for unknown (ignored) extension tags, not for thousands.
inline constexpr size_t kMaxTags = 32;
// Bytes in one tag value. The longest legitimate values: b= of an RSA-8192
// signature (1368 base64 chars, more with folding), p= of an RSA-8192 key
// (~1400), a z= copy of headers. 8 KB holds those with room to spare.
inline constexpr size_t kMaxTagValueBytes = 8192;
// Bytes in a whole tag-list (a DKIM-Signature field or a key record's TXT).
inline constexpr size_t kMaxTagListBytes = 16384;
// Header names in h=. Our signer lists 16; a list of hundreds only makes a
// verifier hash the same headers over and over.
inline constexpr size_t kMaxSignedHeaders = 64;
// DKIM-Signature fields a verifier looks at in one message (each costs a DNS
// lookup and a public-key operation); later ones are not verified.
inline constexpr size_t kMaxSignaturesPerMessage = 8;
// Header fields considered in one header block when selecting what h= names
// (the intake bounds the block's size; this bounds the per-field index).
inline constexpr size_t kMaxHeaderFields = 1000;
// RSA key sizes. Signing: 2048 bits at least (RFC 8301 says 1024 is the
// floor, receivers such as Gmail want 2048). Verifying: under 1024 fails
// (RFC 8301 3.2); over 8192 is refused because one RSA verification with a
// huge modulus is a CPU cost any sender could impose on us.
inline constexpr int kMinSigningRsaBits = 2048;
inline constexpr int kMinVerifyingRsaBits = 1024;
inline constexpr int kMaxRsaBits = 8192;
// Folded DKIM-Signature lines we write: RFC 5322 2.1.1 recommends 78.
inline constexpr size_t kMaxSignatureLineBytes = 78;
// A TXT record's character-strings are at most 255 bytes each (RFC 1035 3.3).
inline constexpr size_t kMaxTxtStringBytes = 255;

}  // namespace volley::dkim
