// What a DNS lookup for delivery can tell us, independent of how it was asked
// (c-ares in dns_resolver.hpp, a table in tests). Pure types: no Asio, no c-ares.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "delivery/transport_security.hpp"

namespace volley::delivery {

// The four outcomes delivery acts on differently (RFC 5321 5.1):
enum class DnsStatus {
  Ok,         // the name has records of the asked type
  NoRecords,  // NOERROR but no data of that type ("NODATA"): for MX, use the implicit MX
  NxDomain,   // the name does not exist: bounce
  TempFail,   // SERVFAIL, REFUSED, timeout, network error, malformed answer: defer
};

struct MxRecord {
  uint16_t preference = 0;
  std::string host;  // lowercased, no trailing dot; "" for the root name "." (null MX, RFC 7505)
  bool operator==(const MxRecord&) const = default;
};

struct MxAnswer {
  DnsStatus status = DnsStatus::TempFail;
  std::vector<MxRecord> records;  // as the server sent them (only meaningful when status == Ok)
  std::string detail;             // human-readable cause for logs and DSNs, e.g. "SERVFAIL"
  bool secure = false;            // the resolver set AD: DNSSEC-validated (RFC 7672 2.2.1)
};

// TXT records of a name (SPF, DKIM keys, DMARC, MTA-STS): each record's
// strings joined with nothing between them (RFC 7208 3.3), records kept apart.
struct TxtAnswer {
  DnsStatus status = DnsStatus::TempFail;
  std::vector<std::string> records;  // in the server's order
  std::string detail;
};

// TLSA records (RFC 6698) of "_25._tcp.<mx host>" for DANE (RFC 7672).
struct TlsaAnswer {
  DnsStatus status = DnsStatus::TempFail;
  std::vector<TlsaRecord> records;  // every TLSA record of the answer (usable or not), at most limits::kMaxTlsaRecords
  bool secure = false;              // the resolver set AD: only then may the records be used
  std::string detail;
};

// PTR records of a reverse name ("4.3.2.1.in-addr.arpa").
struct PtrAnswer {
  DnsStatus status = DnsStatus::TempFail;
  std::vector<std::string> names;  // lowercased, no trailing dot
  std::string detail;
};

}  // namespace volley::delivery
