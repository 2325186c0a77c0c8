// The sender-authentication verdicts of checks.hpp: SPF, DKIM, DMARC.
#include <algorithm>
#include <sstream>

#include "dkim/key_record.hpp"
#include "dkim/keygen.hpp"
#include "doctor/checks.hpp"
#include "dmarc/policy_discovery.hpp"
#include "net/cidr.hpp"
#include "spf/record.hpp"
#include "util/strings.hpp"

namespace volley::doctor {

using delivery::DnsStatus;

const char* status_name(Status s) {
  switch (s) {
    case Status::Pass: return "PASS";
    case Status::Fail: return "FAIL";
    case Status::Info: return "INFO";
  }
  return "FAIL";
}

std::string temporary_dns_error(const std::string& what, const std::string& detail) {
  return concat("temporary DNS error looking up ", what, detail.empty() ? "" : ": ", detail,
                " (receivers seeing this defer or fail the check; the doctor cannot vouch for it)");
}

Finding passed(std::string name, std::string detail) { return {std::move(name), Status::Pass, std::move(detail), ""}; }
Finding failed(std::string name, std::string detail, std::string fix) {
  return {std::move(name), Status::Fail, std::move(detail), std::move(fix)};
}

std::string join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const auto& p : parts) out.append(out.empty() ? "" : separator).append(p);
  return out;
}

namespace {

std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Whether a term of the record names `ip` by an ip4:/ip6: network.
bool term_covers(const std::string& term, const net::IpAddress& ip) {
  std::string t = to_lower(term);
  if (!t.empty() && t[0] == '+') t.erase(0, 1);
  if (!istarts_with(t, "ip4:") && !istarts_with(t, "ip6:")) return false;
  auto cidr = net::Cidr::parse(std::string_view(t).substr(4));
  return cidr && cidr->contains(ip);
}

std::string spf_publish_fix(const std::string& domain, const std::string& record,
                            const std::vector<std::string>& addresses) {
  if (addresses.empty())
    return concat("publish one SPF record naming the sending addresses, e.g. ",
                  dkim::txt_record_line(domain, spf_record_with(record, {"192.0.2.1"})),
                  " (192.0.2.1 standing for the address; pass --address or set delivery.source_addresses)");
  return concat("publish ", dkim::txt_record_line(domain, spf_record_with(record, addresses)));
}

}  // namespace

std::string spf_record_with(const std::string& record, const std::vector<std::string>& addresses) {
  std::vector<std::string> terms = split_spaces(record);
  if (terms.empty()) terms = {"v=spf1", "~all"};
  std::vector<std::string> added;
  for (const auto& a : addresses) {
    auto ip = net::IpAddress::parse(a);
    if (!ip) continue;
    if (std::any_of(terms.begin(), terms.end(), [&](const std::string& t) { return term_covers(t, *ip); })) continue;
    added.push_back(concat(ip->is_v4 ? "ip4:" : "ip6:", ip->to_string()));
  }
  // Before the final all or a redirect: terms after them are never reached.
  auto at = std::find_if(terms.begin() + 1, terms.end(), [](const std::string& t) {
    std::string l = to_lower(t);
    if (!l.empty() && (l[0] == '+' || l[0] == '-' || l[0] == '~' || l[0] == '?')) l.erase(0, 1);
    return l == "all" || istarts_with(l, "redirect=");
  });
  terms.insert(at, added.begin(), added.end());
  return join(terms, " ");
}

Finding judge_spf_record(const std::string& domain, const delivery::TxtAnswer& txt,
                         const std::vector<std::string>& addresses, std::string& record) {
  const std::string name = "spf record";
  record.clear();
  if (txt.status == DnsStatus::TempFail) return failed(name, temporary_dns_error("TXT " + domain, txt.detail));
  std::vector<std::string> spf;
  if (txt.status == DnsStatus::Ok)
    for (const auto& r : txt.records)
      if (spf::is_spf_record(r)) spf.push_back(r);
  if (spf.empty())
    return failed(name, concat("no SPF record at ", domain, txt.status == DnsStatus::NxDomain ? " (the name does not exist)" : ""),
                spf_publish_fix(domain, "", addresses));
  if (spf.size() > 1)
    return failed(name,
                concat(std::to_string(spf.size()), " SPF records at ", domain,
                       ": receivers need exactly one (RFC 7208 4.5: permerror)"),
                concat("merge them into one record and delete the others, e.g. ",
                       dkim::txt_record_line(domain, spf_record_with(spf.front(), addresses))));
  if (auto parsed = spf::parse_record(spf.front()); !parsed)
    return failed(name, concat("the SPF record at ", domain, " does not parse (permerror): ", parsed.error().message),
                concat("correct it: ", quoted(spf.front(), 512)));
  record = spf.front();
  return passed(name, concat("one SPF record at ", domain, ": ", quoted(record, 512)));
}

Finding judge_spf_address(const std::string& domain, const std::string& address, const spf::SpfResult& result,
                          const std::string& record, const std::vector<std::string>& addresses) {
  const std::string name = "spf " + address;
  const std::string verdict = spf::verdict_name(result.verdict);
  if (result.verdict == spf::SpfVerdict::Pass)
    return passed(name, concat(address, " passes SPF for MAIL FROM postmaster@", domain,
                             result.mechanism.empty() ? "" : " (" + result.mechanism + ")"));
  if (result.verdict == spf::SpfVerdict::TempError) return failed(name, temporary_dns_error("SPF of " + domain, result.reason));
  return failed(name,
              concat(address, " gets SPF ", verdict, " for MAIL FROM postmaster@", domain,
                     result.reason.empty() ? "" : ": " + result.reason),
              spf_publish_fix(domain, record, addresses));
}

// ---- DKIM ----

std::string dkim_record_name(const DkimExpectation& e) { return concat(e.selector, "._domainkey.", e.domain); }

Finding no_dkim_entry(const std::string& domain) {
  return failed("dkim", concat("no [[dkim]] entry signs for ", domain, " or a parent domain: its mail goes out unsigned"),
              concat("volley dkim keygen --domain ", domain,
                     " --selector s1; add the [[dkim]] entry (domain, selector, key) and publish the record it prints"));
}

Finding judge_dkim(const DkimExpectation& e, const delivery::TxtAnswer& txt) {
  const std::string record_name = dkim_record_name(e);
  const std::string name = "dkim " + record_name;
  if (!e.record_text)
    return failed(name, concat("the configured key ", e.key_path, " cannot be used: ", e.record_text.error().message),
                concat("fix the [[dkim]] key path, or make a new key: volley dkim keygen --domain ", e.domain,
                       " --selector ", e.selector));
  const std::string publish = concat("publish ", dkim::dns_record_line(e.selector, e.domain, e.record_text.value()));
  if (txt.status == DnsStatus::TempFail) return failed(name, temporary_dns_error("TXT " + record_name, txt.detail));
  if (txt.status != DnsStatus::Ok || txt.records.empty())
    return failed(name, concat("no DKIM key record at ", record_name, ": receivers cannot verify the signatures"), publish);
  if (txt.records.size() > 1)
    return failed(name,
                concat(std::to_string(txt.records.size()), " TXT records at ", record_name,
                       ": a verifier may use any of them"),
                concat(publish, " and delete the others"));
  auto published = dkim::parse_key_record(txt.records.front());
  if (!published)
    return failed(name, concat("the key record at ", record_name, " does not parse: ", published.error().message), publish);
  if (published->public_key.empty())
    return failed(name, concat("the key at ", record_name, " is revoked (empty p=)"), publish);
  auto expected = dkim::parse_key_record(e.record_text.value());
  if (!expected || expected->type != published->type || expected->public_key != published->public_key)
    return failed(name,
                concat("the key published at ", record_name, " is not the public half of ", e.key_path,
                       ": every signature fails verification"),
                publish);
  return passed(name, concat(record_name, " publishes the public key of ", e.key_path,
                           published->testing ? " (t=y: receivers treat failures as unsigned)" : ""));
}

// ---- DMARC ----

namespace {

std::string dmarc_fix(const std::string& domain) {
  return concat("publish ", dkim::txt_record_line("_dmarc." + domain, "v=DMARC1; p=none"),
                " (p=none is enough for the bulk-sender rules; p=quarantine or p=reject also stops spoofing)");
}

const char* alignment_name(dmarc::Alignment a) { return a == dmarc::Alignment::Strict ? "s" : "r"; }

}  // namespace

dmarc::PolicyLookup dmarc_lookup_from(const std::string& domain, const delivery::TxtAnswer& domain_txt,
                                      const std::string& org, const std::optional<delivery::TxtAnswer>& org_txt) {
  dmarc::PolicyLookup l = dmarc::discover_policy(domain, domain_txt, org, org_txt);
  if (l.kind == dmarc::PolicyLookup::Kind::TempFail) l.detail = temporary_dns_error("TXT _dmarc." + l.domain, l.detail);
  return l;
}

Finding judge_dmarc_record(const std::string& domain, const dmarc::PolicyLookup& lookup) {
  const std::string name = "dmarc record";
  using Kind = dmarc::PolicyLookup::Kind;
  switch (lookup.kind) {
    case Kind::TempFail: return failed(name, lookup.detail);
    case Kind::NotFound:
      return failed(name, concat("no DMARC record at _dmarc.", domain, " or its organizational domain"), dmarc_fix(domain));
    case Kind::PermError: return failed(name, lookup.detail, dmarc_fix(lookup.domain));
    case Kind::Found: break;
  }
  const auto& r = lookup.record;
  if (r.policy_defaulted)
    return failed(name, concat("the DMARC record at _dmarc.", lookup.domain, " has no valid p= (read as p=none because of rua=)"),
                "add p=none (or quarantine / reject) to it");
  std::string detail = concat("_dmarc.", lookup.domain, ": p=", dmarc::policy_name(r.policy),
                              " adkim=", alignment_name(r.dkim_alignment), " aspf=", alignment_name(r.spf_alignment));
  if (r.pct != 100) detail += concat(" pct=", std::to_string(r.pct));
  if (r.policy == dmarc::Policy::None)
    detail += " (p=none meets the bulk-sender rules; quarantine or reject would also stop spoofing)";
  return passed(name, detail);
}

Finding judge_dmarc_alignment(const std::string& domain, const dmarc::PolicyLookup& lookup, bool spf_pass,
                              const std::vector<std::string>& dkim_pass_domains, const dmarc::PublicSuffixList& psl) {
  const std::string name = "dmarc alignment";
  if (lookup.kind != dmarc::PolicyLookup::Kind::Found)
    return failed(name, "no usable DMARC record to align with", dmarc_fix(domain));
  dmarc::AuthenticatedIdentifiers ids;
  ids.from_domain = domain;
  ids.spf_pass = spf_pass;
  ids.spf_domain = domain;  // MAIL FROM postmaster@DOMAIN
  ids.dkim_pass_domains = dkim_pass_domains;
  const auto e = dmarc::evaluate(ids, lookup, psl, 0);
  std::vector<std::string> parts;
  for (const auto& d : dkim_pass_domains)
    parts.push_back(concat("DKIM d=", d, dmarc::aligned(d, domain, lookup.record.dkim_alignment, psl) ? " aligned" : " not aligned",
                           " (adkim=", alignment_name(lookup.record.dkim_alignment), ")"));
  if (dkim_pass_domains.empty()) parts.push_back("no DKIM key passes");
  parts.push_back(spf_pass ? concat("SPF ", domain, " passes and aligns") : std::string("SPF does not pass for every sending address"));
  const std::string detail = concat("From ", domain, ": ", join(parts, "; "));
  if (e.result == dmarc::DmarcResult::Pass) return passed(name, detail);
  std::string fix = "make SPF pass for the sending addresses (see spf) or publish the DKIM key record (see dkim)";
  if (!dkim_pass_domains.empty() && lookup.record.dkim_alignment == dmarc::Alignment::Strict)
    fix = concat("sign with a [[dkim]] entry for ", domain, " itself, or publish adkim=r at _dmarc.", lookup.domain);
  return failed(name, detail, fix);
}

}  // namespace volley::doctor
