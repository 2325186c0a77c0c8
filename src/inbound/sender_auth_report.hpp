// What the inbound sender-authentication checks found, and what follows from
// it: the verdict under [inbound] dmarc (accept, file as junk, refuse, defer)
// and the Authentication-Results entries (RFC 8601). Pure: sender_auth.hpp
// runs the lookups and fills SenderAuthResults; tests build them by hand.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "dmarc/dmarc_policy.hpp"
#include "inbound/authentication_results.hpp"
#include "smtp/reply.hpp"
#include "spf/evaluator.hpp"

namespace volley::inbound {

enum class Verdict {
  Accept,      // deliver as usual
  Quarantine,  // accept, file into each local recipient's Junk folder
  Reject,      // refuse at the end of DATA: 550 5.7.1
  TempFail,    // the outcome depends on DNS that failed: 451 4.7.1, the client retries
};
const char* verdict_name(Verdict v);  // "accept" | "quarantine" | "reject" | "tempfail"

struct SpfCheck {
  std::string identity;  // the MAIL FROM address, or the HELO name
  spf::SpfResult result;
};

// One DKIM-Signature and what became of it.
struct DkimCheck {
  // RFC 8601 2.7.1: "pass", "fail", "neutral" (a failure under a t=y testing
  // key: RFC 6376 3.6.1 says to treat it as unsigned), "temperror", "permerror".
  std::string result;
  std::string reason;      // why not pass; "" on pass
  std::string domain;      // d= ("" when unreadable)
  std::string selector;    // s=
  std::string algorithm;   // a= ("" when the signature did not parse)
  std::string b_prefix;    // the first 8 characters of b= (RFC 6008 header.b)
  bool testing = false;    // the key record has t=y
};

struct DmarcCheck {
  bool evaluated = false;      // [inbound] dmarc is not "off"
  std::string from_domain;     // "" when the From field gave none
  // More than one From field, or From addresses in more than one domain: the
  // well-known way around a p=reject policy (RFC 7489 6.6.1 lets the
  // receiver refuse such mail; under "enforce" we do).
  bool ambiguous_from = false;
  dmarc::Evaluation evaluation;  // result permerror with a reason when from_domain is ""
};

struct SenderAuthResults {
  std::optional<SpfCheck> spf_mailfrom;  // non-null MAIL FROM only
  std::optional<SpfCheck> spf_helo;      // HELO identity (also the SPF identity of a null sender)
  bool dkim_checked = false;             // [inbound] dkim_verify
  std::vector<DkimCheck> dkim;
  DmarcCheck dmarc;
};

struct Decision {
  Verdict verdict = Verdict::Accept;
  std::optional<smtp::Reply> reply;  // Reject and TempFail: what to answer at the end of DATA
  std::string reason;                // for the log; "" when there is nothing to say
};

// The verdict: only "enforce" refuses, defers or quarantines (see the .cpp
// for the rules); "report" and "off" always accept.
Decision decide(const SenderAuthResults& results, config::DmarcMode mode);

// The Authentication-Results entries in the order spf (mailfrom, helo), dkim
// (one per signature, or dkim=none), dmarc; `decision` gives dmarc's dis=.
std::vector<MethodResult> method_results(const SenderAuthResults& results, const Decision& decision);

// "spf=pass dkim=pass:example.com dmarc=pass verdict=accept" for the log line.
std::string log_summary(const SenderAuthResults& results, const Decision& decision);

}  // namespace volley::inbound
