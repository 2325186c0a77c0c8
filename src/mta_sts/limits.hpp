// Bounds of MTA-STS processing, named with their reasons.
#pragma once

#include <cstddef>
#include <cstdint>

namespace volley::mta_sts::limits {

// RFC 8461 3.3: senders may limit the policy body; real policies are a few
// hundred bytes. 64 KiB is what the RFC suggests as a sane maximum.
inline constexpr size_t kMaxPolicyBytes = 64 * 1024;
// mx: lines kept from one policy: more says nothing useful and costs
// matching time per delivery.
inline constexpr size_t kMaxMxPatterns = 64;
// RFC 8461 3.2: max_age is at most 31557600 s (one year).
inline constexpr uint32_t kMaxMaxAge = 31557600;
// RFC 8461 3.1: id is 1*32 alphanumerics.
inline constexpr size_t kMaxIdLength = 32;

// Policies kept in the cache (and files in data_dir/mta-sts): a campaign to
// many domains must not grow it without bound; beyond it new policies are
// used but not cached (about 300 bytes each in memory).
inline constexpr size_t kMaxCachedPolicies = 100'000;

}  // namespace volley::mta_sts::limits
