// What routing and sender authentication need from DNS, as an interface: the c-ares DnsResolver
// implements it for the daemon, a table answers it in unit tests (the
// Router is tested without a DNS server).
#pragma once

#include <asio/ip/address.hpp>
#include <functional>
#include <string>
#include <vector>

#include "delivery/dns_types.hpp"

namespace volley::delivery {

struct AddressAnswer {
  DnsStatus status = DnsStatus::TempFail;
  std::vector<asio::ip::address> addresses;  // IPv4 first, then IPv6, each in the server's order
  std::string detail;
  // When status is Ok, how the family without addresses fared: a check that
  // needs one family (SPF's a and mx) must see its TempFail, not the other
  // family's success.
  DnsStatus v4_status = DnsStatus::NoRecords;
  DnsStatus v6_status = DnsStatus::NoRecords;
  // Ok, and every family that gave addresses carried AD (DNSSEC-validated):
  // DANE needs secure addresses too (RFC 7672 2.2.2).
  bool secure = false;
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Each callback runs exactly once, later, on the caller's io_context
  // thread (never inside the call itself).
  //
  // MX records of `domain`: Ok with the records; NoRecords (the domain has no
  // MX: use the implicit MX); NxDomain; TempFail.
  virtual void query_mx(const std::string& domain, std::function<void(MxAnswer)> done) = 0;
  // A and AAAA of `host`: Ok if either has addresses; otherwise TempFail if
  // either failed temporarily (never bounce on half an answer), else
  // NxDomain if the name does not exist, else NoRecords.
  virtual void query_addresses(const std::string& host, std::function<void(AddressAnswer)> done) = 0;
  // TXT records of `name` (sender authentication: SPF, DKIM, DMARC):
  // Ok with the records; NoRecords; NxDomain; TempFail (also for an answer
  // beyond the resolver's bounds: never act on part of a record set).
  virtual void query_txt(const std::string& name, std::function<void(TxtAnswer)> done) = 0;
  // PTR records of a reverse name (net::reverse_dns_name), same statuses.
  virtual void query_ptr(const std::string& reverse_name, std::function<void(PtrAnswer)> done) = 0;
  // TLSA records of "_25._tcp.<mx host>" (DANE, RFC 7672). SERVFAIL (a
  // validating resolver's answer for bogus data) is TempFail; `secure` says
  // the resolver validated the answer (AD bit). MxAnswer::secure likewise.
  virtual void query_tlsa(const std::string& name, std::function<void(TlsaAnswer)> done) = 0;
};

}  // namespace volley::delivery
