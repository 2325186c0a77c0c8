#include "dmarc/dmarc_policy.hpp"

#include "util/strings.hpp"

namespace volley::dmarc {

const char* result_name(DmarcResult r) {
  switch (r) {
    case DmarcResult::None: return "none";
    case DmarcResult::Pass: return "pass";
    case DmarcResult::Fail: return "fail";
    case DmarcResult::TempError: return "temperror";
    case DmarcResult::PermError: return "permerror";
  }
  return "none";
}

bool aligned(const std::string& a, const std::string& b, Alignment mode, const PublicSuffixList& psl) {
  if (a.empty() || b.empty()) return false;
  const std::string la = to_lower(a), lb = to_lower(b);
  if (la == lb) return true;
  if (mode == Alignment::Strict) return false;
  const std::string oa = psl.organizational_domain(la);
  return !oa.empty() && oa == psl.organizational_domain(lb);
}

Evaluation evaluate(const AuthenticatedIdentifiers& ids, const PolicyLookup& lookup, const PublicSuffixList& psl,
                    unsigned sample) {
  Evaluation e;
  switch (lookup.kind) {
    case PolicyLookup::Kind::NotFound:
      e.result = DmarcResult::None;
      e.reason = "no DMARC policy for " + ids.from_domain;
      return e;
    case PolicyLookup::Kind::TempFail:
      e.result = DmarcResult::TempError;
      e.reason = "DMARC policy lookup failed: " + lookup.detail;
      return e;
    case PolicyLookup::Kind::PermError:
      e.result = DmarcResult::PermError;
      e.reason = "unusable DMARC policy: " + lookup.detail;
      return e;
    case PolicyLookup::Kind::Found:
      break;
  }
  const DmarcRecord& rec = lookup.record;
  e.policy_domain = lookup.domain;
  // sp= applies to mail From a subdomain of the organizational domain whose
  // record was used (RFC 7489 6.3 "sp", 6.6.3 step 3).
  const bool from_subdomain = to_lower(ids.from_domain) != to_lower(lookup.domain);
  e.policy = from_subdomain && rec.subdomain_policy ? *rec.subdomain_policy : rec.policy;
  for (const auto& d : ids.dkim_pass_domains)
    if (aligned(d, ids.from_domain, rec.dkim_alignment, psl)) {
      e.dkim_aligned = true;
      break;
    }
  e.spf_aligned = ids.spf_pass && aligned(ids.spf_domain, ids.from_domain, rec.spf_alignment, psl);
  if (e.dkim_aligned || e.spf_aligned) {
    e.result = DmarcResult::Pass;
    e.reason = e.dkim_aligned ? "aligned DKIM pass" : "aligned SPF pass";
    return e;
  }
  e.result = DmarcResult::Fail;
  e.reason = "no aligned SPF or DKIM pass for " + ids.from_domain + " (policy " + policy_name(e.policy) + " at " +
             lookup.domain + ")";
  // pct= (6.6.4): a message left out of the sample gets the next milder
  // policy: reject -> quarantine, quarantine -> none.
  e.disposition = e.policy;
  if (sample >= rec.pct) {
    if (e.policy == Policy::Reject) e.disposition = Policy::Quarantine;
    else if (e.policy == Policy::Quarantine) e.disposition = Policy::None;
  }
  return e;
}

}  // namespace volley::dmarc
