// A DMARC policy record (RFC 7489 6.3), parsed from the TXT record at
// _dmarc.<domain>. Pure: the caller fetches the TXT strings. Unknown tags
// are ignored (the syntax is extensible); rua/ruf/fo/rf/ri are kept as text
// only (Volley sends no aggregate reports yet).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace volley::dmarc {

enum class Policy { None, Quarantine, Reject };
enum class Alignment { Relaxed, Strict };

const char* policy_name(Policy p);  // "none" | "quarantine" | "reject"

struct DmarcRecord {
  Policy policy = Policy::None;                 // p=
  std::optional<Policy> subdomain_policy;       // sp= (p= applies when absent)
  Alignment dkim_alignment = Alignment::Relaxed;  // adkim=
  Alignment spf_alignment = Alignment::Relaxed;   // aspf=
  unsigned pct = 100;                           // pct=, 0..100
  std::string rua;                              // as written
  std::string ruf;
  // p= was missing or invalid and a rua= made the record usable as p=none
  // (RFC 7489 6.6.3 step 6).
  bool policy_defaulted = false;
};

// Whether a TXT record is a DMARC record at all ("v=DMARC1" first; others at
// _dmarc are ignored, RFC 7489 6.6.3).
bool is_dmarc_record(std::string_view txt);

// Parses one DMARC record. Invalid: v= not first, p= missing or invalid
// without a usable rua=, a tag given twice, a malformed value (a bad sp=,
// adkim=, aspf= or pct= voids the record as a bad p= does).
Result<DmarcRecord> parse_dmarc_record(std::string_view txt);

// Picks the policy from all TXT records at one name: exactly one DMARC
// record applies; none, or more than one, means no policy there
// (nullopt). An unparsable single record is an Error (permerror).
Result<std::optional<DmarcRecord>> select_dmarc_record(const std::vector<std::string>& txt_records);

}  // namespace volley::dmarc
