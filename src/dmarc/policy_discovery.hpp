// DMARC policy discovery at one name (RFC 7489 6.6.3) from its TXT answer:
// the one place that turns a DNS answer into a PolicyLookup, shared by the
// inbound checks (src/inbound/sender_auth) and `volley doctor`.
#pragma once

#include <optional>
#include <string>

#include "delivery/dns_types.hpp"
#include "dmarc/dmarc_policy.hpp"

namespace volley::dmarc {

// The answer for "_dmarc.<domain>":
//   Found      exactly one DMARC record there (domain = `domain`);
//   PermError  a single DMARC record that does not parse (detail says why);
//   TempFail   the lookup failed (domain = `domain`, detail = the DNS detail);
//   nullopt    no policy at this name (NXDOMAIN, NODATA, no or several
//              v=DMARC1 records): the caller looks at the organizational
//              domain next, and reports NotFound after that.
std::optional<PolicyLookup> policy_at(const std::string& domain, const delivery::TxtAnswer& txt);

// policy_at on the From domain, then (when it found nothing and `org` is
// another name) on the organizational domain's answer.
PolicyLookup discover_policy(const std::string& domain, const delivery::TxtAnswer& domain_txt, const std::string& org,
                             const std::optional<delivery::TxtAnswer>& org_txt);

}  // namespace volley::dmarc
