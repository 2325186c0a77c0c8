// MTA-STS (RFC 8461): the TXT record at _mta-sts.<domain> and the policy
// file served at https://mta-sts.<domain>/.well-known/mta-sts.txt, parsed;
// and which MX hosts a policy allows. Pure: fetching (DNS, HTTPS with
// certificate validation) and caching are the caller's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace volley::mta_sts {

// "v=STSv1; id=20160831085700Z;" (RFC 8461 3.1).
struct StsRecord {
  std::string id;  // 1-32 alphanumerics; a change means "fetch the policy again"
};

// One TXT record that is_sts_record(): its id (extensions ignored).
Result<StsRecord> parse_sts_record(std::string_view txt);
bool is_sts_record(std::string_view txt);
// Among all TXT records at _mta-sts.<domain>: those not starting with
// v=STSv1 are ignored; unless exactly one remains and it parses, the domain
// has no available policy (nullopt; RFC 8461 3.1) — a cached policy is
// still used until it expires (the caller's business).
std::optional<StsRecord> select_sts_record(const std::vector<std::string>& txt_records);

enum class Mode { Enforce, Testing, None };
const char* mode_name(Mode m);  // "enforce" | "testing" | "none"

struct Policy {
  Mode mode = Mode::None;
  std::vector<std::string> mx;  // patterns as published, lowercased: "mail.example.com", "*.example.net"
  uint32_t max_age = 0;         // seconds, at most 31557600 (RFC 8461 3.2)
};

// The policy file (RFC 8461 3.2): "key: value" lines ending in CRLF or LF;
// version: STSv1, mode, max_age required, mx: one or more (except mode
// none); unknown keys ignored; bounded in size and lines.
Result<Policy> parse_policy(std::string_view text);

// Whether `host` (an MX host name) matches `pattern`: equal, or "*.x.y"
// matching exactly one leftmost label (RFC 8461 4.1). Case-insensitive;
// trailing dots ignored.
bool mx_matches(std::string_view pattern, std::string_view host);
bool mx_allowed(const Policy& p, std::string_view host);

// Serialised form for the on-disk cache (round-trips through parse_policy).
std::string policy_text(const Policy& p);

}  // namespace volley::mta_sts
