// DMARC evaluation (RFC 7489 3.1, 6.6.2-6.6.4, 6.7): identifier alignment of
// the SPF and DKIM results with the From domain, the policy that applies
// (p= or sp=), and pct= sampling. Pure: the caller has run SPF and DKIM,
// extracted the From domain and looked up the policy record; time and
// randomness come in as values.
#pragma once

#include <string>
#include <vector>

#include "dmarc/dmarc_record.hpp"
#include "dmarc/public_suffix.hpp"

namespace volley::dmarc {

enum class DmarcResult { None, Pass, Fail, TempError, PermError };
const char* result_name(DmarcResult r);  // "none" | "pass" | "fail" | "temperror" | "permerror"

// What policy discovery found (RFC 7489 6.6.3): the record at
// _dmarc.<From domain>, else at _dmarc.<organizational domain>.
struct PolicyLookup {
  enum class Kind { Found, NotFound, TempFail, PermError } kind = Kind::NotFound;
  DmarcRecord record;         // Found
  std::string domain;         // where it was found (Found), or failed (TempFail, PermError)
  std::string detail;         // TempFail / PermError reason
};

struct AuthenticatedIdentifiers {
  std::string from_domain;  // RFC5322.From, from from_domain()
  // SPF: the result's domain (RFC5321.MailFrom's, or HELO's for the null
  // sender) and whether it passed.
  bool spf_pass = false;
  std::string spf_domain;
  // The d= of every DKIM signature that verified.
  std::vector<std::string> dkim_pass_domains;
};

struct Evaluation {
  DmarcResult result = DmarcResult::None;
  std::string policy_domain;         // where the record was found
  Policy policy = Policy::None;      // p= or sp= as published (for the A-R comment)
  Policy disposition = Policy::None; // what to do after pct= sampling; None unless result == Fail
  bool dkim_aligned = false;
  bool spf_aligned = false;
  std::string reason;                // for logs and the 550 text
};

// Whether `a` and `b` are aligned: equal (strict) or with the same
// organizational domain (relaxed).
bool aligned(const std::string& a, const std::string& b, Alignment mode, const PublicSuffixList& psl);

// `sample` in [0, 100): the message is subject to the policy when
// sample < pct (the caller draws it at random; tests pass fixed values).
Evaluation evaluate(const AuthenticatedIdentifiers& ids, const PolicyLookup& lookup, const PublicSuffixList& psl,
                    unsigned sample);

}  // namespace volley::dmarc
