// Bounds of DMARC evaluation, named with their reasons.
#pragma once

#include <cstddef>

namespace volley::dmarc::limits {

// A DMARC record is a few dozen bytes; DNS TXT data rarely exceeds a few
// KB. Anything longer is refused rather than parsed.
inline constexpr size_t kMaxRecordLength = 4096;
// The RFC defines ten tags; extensions may add some. More is garbage.
inline constexpr size_t kMaxRecordTags = 32;
// Addresses read from one From: header (RFC 5322 allows a list; DMARC
// needs them all in one domain). More is refused as permerror.
inline constexpr size_t kMaxFromAddresses = 32;

}  // namespace volley::dmarc::limits
