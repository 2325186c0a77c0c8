#include "inbound/sender_auth_report.hpp"

#include "util/strings.hpp"

namespace volley::inbound {
namespace {

using dmarc::DmarcResult;
using dmarc::Policy;
using spf::SpfVerdict;

// Untrusted text (domains from headers, DNS details) shown in a reply or a
// header comment: printable and short.
constexpr size_t kMaxShownBytes = 120;
std::string shown(std::string_view s) { return printable(s, kMaxShownBytes); }

// The SPF result DMARC uses (RFC 7489 4.1: MAIL FROM, else HELO).
const SpfCheck* dmarc_spf(const SenderAuthResults& r) {
  if (r.spf_mailfrom) return &*r.spf_mailfrom;
  return r.spf_helo ? &*r.spf_helo : nullptr;
}

// A check DMARC depends on ended in temperror: its pass might have changed a fail.
bool dns_trouble(const SenderAuthResults& r) {
  if (const SpfCheck* s = dmarc_spf(r); s && s->result.verdict == SpfVerdict::TempError) return true;
  for (const auto& d : r.dkim)
    if (d.result == "temperror") return true;
  return false;
}

Decision temp_fail(std::string why) {
  return {Verdict::TempFail, smtp::Reply(451, "4.7.1", concat(why, "; try again later")), std::move(why)};
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Accept: return "accept";
    case Verdict::Quarantine: return "quarantine";
    case Verdict::Reject: return "reject";
    case Verdict::TempFail: return "tempfail";
  }
  return "accept";
}

// Under "enforce":
//   ambiguous From (several From fields or domains)   -> Reject
//   policy discovery temperror                        -> TempFail
//   dmarc=fail, disposition reject or quarantine:
//     an SPF/DKIM check that DMARC used temperror'd   -> TempFail (it might have passed)
//     else reject -> Reject, quarantine -> Quarantine
//   anything else (pass, none, permerror, pct= sampled out) -> Accept
Decision decide(const SenderAuthResults& r, config::DmarcMode mode) {
  const DmarcCheck& d = r.dmarc;
  if (mode != config::DmarcMode::Enforce || !d.evaluated) return {};
  const dmarc::Evaluation& e = d.evaluation;
  if (d.ambiguous_from) {
    std::string why = concat("message has more than one From address (", shown(e.reason),
                             "), so its DMARC policy cannot be applied");
    return {Verdict::Reject, smtp::Reply(550, "5.7.1", why), why};
  }
  if (e.result == DmarcResult::TempError)
    return temp_fail(concat("cannot look up the DMARC policy of ", shown(d.from_domain), " now"));
  if (e.result != DmarcResult::Fail || e.disposition == Policy::None) return {};
  if (dns_trouble(r))
    return temp_fail(concat("cannot verify ", shown(d.from_domain), " now (a DNS lookup failed) and its DMARC policy (",
                            dmarc::policy_name(e.policy), " at ", shown(e.policy_domain), ") would apply"));
  if (e.disposition == Policy::Quarantine)
    return {Verdict::Quarantine, std::nullopt,
            concat("DMARC p=", dmarc::policy_name(e.policy), " of ", shown(e.policy_domain), ": ", shown(e.reason))};
  std::string why = concat("DMARC policy of ", shown(e.policy_domain), " (p=reject) refuses mail from ",
                           shown(d.from_domain), " that fails SPF and DKIM alignment");
  return {Verdict::Reject, smtp::Reply(550, "5.7.1", why), why};
}

std::vector<MethodResult> method_results(const SenderAuthResults& r, const Decision& decision) {
  std::vector<MethodResult> out;
  if (r.spf_mailfrom)
    out.push_back({"spf", spf::verdict_name(r.spf_mailfrom->result.verdict), "",
                   {{"smtp.mailfrom", r.spf_mailfrom->identity}}, shown(r.spf_mailfrom->result.reason)});
  if (r.spf_helo)
    out.push_back({"spf", spf::verdict_name(r.spf_helo->result.verdict), "", {{"smtp.helo", r.spf_helo->identity}},
                   shown(r.spf_helo->result.reason)});
  if (r.dkim_checked && r.dkim.empty()) out.push_back({"dkim", "none", "", {}, ""});
  for (const auto& d : r.dkim) {
    MethodResult m{"dkim", d.result, shown(d.reason), {}, d.testing ? "testing key" : ""};
    if (!d.domain.empty()) m.properties.push_back({"header.d", d.domain});
    if (!d.selector.empty()) m.properties.push_back({"header.s", d.selector});
    if (!d.algorithm.empty()) m.properties.push_back({"header.a", d.algorithm});
    if (!d.b_prefix.empty()) m.properties.push_back({"header.b", d.b_prefix});
    out.push_back(std::move(m));
  }
  if (r.dmarc.evaluated) {
    const dmarc::Evaluation& e = r.dmarc.evaluation;
    MethodResult m{"dmarc", dmarc::result_name(e.result), "", {}, ""};
    if (e.result != DmarcResult::Pass && e.result != DmarcResult::None) m.reason = shown(e.reason);
    if (!e.policy_domain.empty()) {
      const char* dis = decision.verdict == Verdict::Reject       ? "reject"
                        : decision.verdict == Verdict::Quarantine ? "quarantine"
                                                                  : "none";
      m.comment = concat("p=", dmarc::policy_name(e.policy), " dis=", dis);
    }
    if (!r.dmarc.from_domain.empty()) m.properties.push_back({"header.from", r.dmarc.from_domain});
    out.push_back(std::move(m));
  }
  return out;
}

std::string log_summary(const SenderAuthResults& r, const Decision& decision) {
  std::string s;
  auto add = [&s](std::string_view part) {
    if (!s.empty()) s += ' ';
    s += part;
  };
  if (r.spf_mailfrom) add(concat("spf=", spf::verdict_name(r.spf_mailfrom->result.verdict)));
  if (r.spf_helo) add(concat("spf_helo=", spf::verdict_name(r.spf_helo->result.verdict)));
  if (r.dkim_checked && r.dkim.empty()) add("dkim=none");
  for (const auto& d : r.dkim) add(concat("dkim=", d.result, ":", shown(d.domain)));
  if (r.dmarc.evaluated)
    add(concat("dmarc=", dmarc::result_name(r.dmarc.evaluation.result), ":", shown(r.dmarc.from_domain)));
  add(concat("verdict=", verdict_name(decision.verdict)));
  return s;
}

}  // namespace volley::inbound
