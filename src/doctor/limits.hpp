// `volley doctor`'s bounds, each with its reason. Every DNS lookup is also
// bounded by delivery.dns_timeout, and the SPF evaluation by spf::limits.
#pragma once

#include <chrono>
#include <cstddef>

namespace volley::doctor::limits {

using namespace std::chrono_literals;

// The whole run: past it every lookup still to come fails at once as a
// temporary DNS error, so an unresponsive resolver cannot hang the command.
inline constexpr std::chrono::milliseconds kDefaultTotalTimeout = 120s;
// Sending addresses checked (SPF and reverse DNS each): a server has a few;
// more is a misconfiguration the doctor need not spend minutes on.
inline constexpr size_t kMaxAddresses = 16;
// MX hosts whose addresses are looked up, and PTR names per address whose
// addresses are: receivers look at a handful; an answer with more is odd
// and needs no more lookups to be judged.
inline constexpr size_t kMaxMxHosts = 10;
inline constexpr size_t kMaxPtrNames = 5;
// Fetching the MTA-STS policy (connect, TLS, response), within the total.
inline constexpr std::chrono::milliseconds kPolicyFetchTimeout = 20s;

}  // namespace volley::doctor::limits
