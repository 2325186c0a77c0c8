#include "doctor/rules.hpp"

#include <algorithm>

#include "util/strings.hpp"

namespace volley::doctor {

namespace {

bool failing(const Finding& f) { return f.status == Status::Fail; }

// The rule passes when there are checks named with `prefix` and all pass;
// else it fails with the first failing check's fix.
Finding from_checks(std::string rule, const std::vector<Finding>& checks, const std::string& prefix,
                    const std::string& pass_detail) {
  std::vector<const Finding*> mine;
  for (const auto& c : checks)
    if (istarts_with(c.name, prefix)) mine.push_back(&c);
  auto bad = std::find_if(mine.begin(), mine.end(), [](const Finding* f) { return failing(*f); });
  if (mine.empty()) return failed(std::move(rule), concat("not checked (no ", prefix, " check ran)"));
  if (bad == mine.end()) return passed(std::move(rule), pass_detail);
  return failed(std::move(rule), concat("see the failing \"", (*bad)->name, "\" check: ", (*bad)->detail), (*bad)->fix);
}

}  // namespace

bool Report::passed() const {
  return std::none_of(checks.begin(), checks.end(), failing) && std::none_of(rules.begin(), rules.end(), failing);
}

std::vector<Finding> bulk_sender_rules(const std::vector<Finding>& checks, bool reverse_dns_confirmed,
                                       const std::string& delivery_tls) {
  std::vector<Finding> rules;
  rules.push_back(from_checks("SPF published and passing (Gmail, Yahoo, Microsoft)", checks, "spf",
                              "the sending addresses pass SPF"));
  rules.push_back(from_checks("DKIM signing with a published key (Gmail, Yahoo, Microsoft)", checks, "dkim",
                              "every configured DKIM key is published"));
  rules.push_back(from_checks("DMARC record published, p=none at least (Gmail, Yahoo, Microsoft)", checks,
                              "dmarc record", "a DMARC policy is published"));
  rules.push_back(from_checks("From domain aligned with SPF or DKIM (Gmail, Yahoo, Microsoft)", checks,
                              "dmarc alignment", "mail From the domain passes DMARC"));
  Finding rdns = from_checks("Valid forward and reverse DNS of the sending addresses (Gmail, Yahoo)", checks,
                             "reverse dns", "every sending address has forward-confirmed reverse DNS");
  // The rule asks for forward-confirmed reverse DNS; the check also wants
  // the name to be server.hostname, which the rule does not.
  if (reverse_dns_confirmed && rdns.status == Status::Fail)
    rdns = passed(rdns.name, "every sending address has forward-confirmed reverse DNS (see the reverse dns check for the name)");
  rules.push_back(rdns);
  if (delivery_tls == "none")
    rules.push_back(failed("TLS for transmission (Gmail)", "delivery.tls = \"none\": Volley delivers without STARTTLS",
                           "set delivery.tls = \"opportunistic\" (the default) or \"required\""));
  else
    rules.push_back(passed("TLS for transmission (Gmail)",
                           concat("delivery.tls = \"", delivery_tls, "\": Volley uses STARTTLS wherever the receiver offers it")));
  rules.push_back({"One-click unsubscribe, RFC 8058 (Gmail, Yahoo, Microsoft; bulk and marketing mail)", Status::Info,
                   "a per-message matter: bulk mail needs List-Unsubscribe and List-Unsubscribe-Post headers", ""});
  rules.push_back({"Spam complaint rate under 0.3% (Gmail, Yahoo)", Status::Info,
                   "not visible in DNS: watch Google Postmaster Tools and Yahoo Sender Hub", ""});
  return rules;
}

}  // namespace volley::doctor
