// `volley doctor`'s decisions: each function judges what DNS (and the
// MTA-STS policy server) answered about one thing receivers check, and says
// PASS or FAIL with the fix. Pure: the answers come in as values (probe.hpp
// asks the Resolver for them), so every verdict is unit-tested over tables.
//
// A temporary DNS failure (SERVFAIL, timeout) is always a FAIL "temporary
// DNS error": the doctor cannot vouch for what it could not see.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "delivery/dns_types.hpp"
#include "delivery/resolver.hpp"
#include "dmarc/dmarc_policy.hpp"
#include "spf/evaluator.hpp"
#include "util/result.hpp"

namespace volley::doctor {

// Pass and Fail are verdicts; Info is advice the doctor cannot judge from
// DNS (it never makes the run fail).
enum class Status { Pass, Fail, Info };
const char* status_name(Status s);  // "PASS" | "FAIL" | "INFO"

struct Finding {
  std::string name;    // "spf record", "spf 192.0.2.7", "dkim s1._domainkey.example.com", ...
  Status status = Status::Fail;
  std::string detail;  // what was found
  std::string fix;     // what to do ("" when nothing): the DNS record to publish where there is one
};

Finding passed(std::string name, std::string detail);
Finding failed(std::string name, std::string detail, std::string fix = "");
// "a, b, c"
std::string join(const std::vector<std::string>& parts, const char* separator);

// ---- SPF ----

// The TXT records at DOMAIN: exactly one v=spf1 record that parses. On
// PASS, `record` is that record. `addresses` (the sending addresses) go
// into the fix.
Finding judge_spf_record(const std::string& domain, const delivery::TxtAnswer& txt,
                         const std::vector<std::string>& addresses, std::string& record);

// check_spf() for one sending address (MAIL FROM postmaster@DOMAIN).
// `record` is the published record ("" when there is none); `addresses`
// every sending address, for the fix (one record that covers them all).
Finding judge_spf_address(const std::string& domain, const std::string& address, const spf::SpfResult& result,
                          const std::string& record, const std::vector<std::string>& addresses);

// `record` with an ip4:/ip6: term for each of `addresses` that it does not
// name literally, inserted before its final all / redirect; a new
// "v=spf1 ip4:... ~all" when `record` is empty.
std::string spf_record_with(const std::string& record, const std::vector<std::string>& addresses);

// ---- DKIM ----

// A configured [[dkim]] entry that applies to DOMAIN, and the key record it
// should have in DNS (from the private key; an Error when the key file
// could not be loaded).
struct DkimExpectation {
  std::string domain;    // d=
  std::string selector;  // s=
  std::string key_path;
  Result<std::string> record_text = Error("not loaded");  // "v=DKIM1; k=...; p=..."
};

// The record name "S._domainkey.D".
std::string dkim_record_name(const DkimExpectation& e);
// The TXT at S._domainkey.D holds one key record, it parses, and its key
// is the configured private key's.
Finding judge_dkim(const DkimExpectation& e, const delivery::TxtAnswer& txt);
// No [[dkim]] entry signs for DOMAIN.
Finding no_dkim_entry(const std::string& domain);

// ---- DMARC ----

// DMARC policy discovery (RFC 7489 6.6.3) from the TXT answers at
// _dmarc.DOMAIN and, when that has no policy and the organizational domain
// differs, at _dmarc.ORG (`org_txt`, nullopt when not asked).
dmarc::PolicyLookup dmarc_lookup_from(const std::string& domain, const delivery::TxtAnswer& domain_txt,
                                      const std::string& org, const std::optional<delivery::TxtAnswer>& org_txt);
// A policy exists and has p= (p=none is enough for the bulk-sender rules).
Finding judge_dmarc_record(const std::string& domain, const dmarc::PolicyLookup& lookup);
// Mail From DOMAIN passes DMARC: the SPF domain (DOMAIN, when SPF passed)
// or a passing DKIM d= aligns under the record's aspf / adkim.
Finding judge_dmarc_alignment(const std::string& domain, const dmarc::PolicyLookup& lookup, bool spf_pass,
                              const std::vector<std::string>& dkim_pass_domains, const dmarc::PublicSuffixList& psl);

// ---- reverse DNS ----

// Forward-confirmed reverse DNS of `address`: PTR names, each name's
// addresses (`forward`, by name); it must be confirmed, and the confirmed
// name must be `hostname` (Volley's EHLO name). `confirmed` is set when a
// PTR name resolves back to the address, whatever its name.
Finding judge_reverse_dns(const std::string& address, const std::string& hostname, const delivery::PtrAnswer& ptr,
                          const std::map<std::string, delivery::AddressAnswer>& forward, bool& confirmed);

// ---- MX ----

// DOMAIN's MX records exist (or it has addresses for the implicit MX:
// `implicit`, asked only when there are no MX records), are host names,
// not a null MX, and each target has addresses (`targets`, by host).
Finding judge_mx(const std::string& domain, const std::string& hostname, const delivery::MxAnswer& mx,
                 const std::optional<delivery::AddressAnswer>& implicit,
                 const std::map<std::string, delivery::AddressAnswer>& targets);

// ---- MTA-STS ----

// The TXT at _mta-sts.DOMAIN. Absent: PASS (MTA-STS is optional), and
// `published` false. One v=STSv1 record that parses: PASS, `published`.
Finding judge_sts_record(const std::string& domain, const delivery::TxtAnswer& txt, bool& published);
// The policy fetched from https://mta-sts.DOMAIN/.well-known/mta-sts.txt
// parses, and in enforce mode allows every MX host (`mx_hosts`).
Finding judge_sts_policy(const std::string& domain, const Result<std::string>& fetched,
                         const std::vector<std::string>& mx_hosts);

// "temporary DNS error" finding text for a lookup's detail.
std::string temporary_dns_error(const std::string& what, const std::string& detail);

}  // namespace volley::doctor
