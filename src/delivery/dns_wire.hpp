// The parts of a raw DNS response (RFC 1035 4.1) that c-ares does not parse
// for us: the AD bit (RFC 4035 3.2.3, DNSSEC-validated by the resolver), the
// RCODE, and TLSA records (RFC 6698, type 52). Pure, over untrusted bytes:
// every length is checked against the message, names are skipped (never
// followed), counts are bounded.
#pragma once

#include <string_view>

#include "delivery/dns_types.hpp"

namespace volley::delivery {

inline constexpr int kDnsTypeTlsa = 52;

struct ResponseHeader {
  int rcode = 0;        // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...
  bool ad = false;      // authenticated data
  bool truncated = false;
  unsigned answers = 0;  // ANCOUNT
};

// The header of `msg`, or false when it is shorter than 12 bytes or not a response.
bool parse_response_header(std::string_view msg, ResponseHeader& out);

// A TLSA response as delivery acts on it: NOERROR with records -> Ok;
// NOERROR without -> NoRecords; NXDOMAIN -> NxDomain; SERVFAIL (what a
// validating resolver answers for bogus data), any other RCODE, a malformed
// message, more than limits::kMaxTlsaRecords records or one with more than
// limits::kMaxTlsaDataBytes of data -> TempFail. `secure` is the AD bit.
// Records of other types in the answer section (a CNAME chain) are skipped.
TlsaAnswer parse_tlsa_response(std::string_view msg);

}  // namespace volley::delivery
