// The DNS-hygiene verdicts of checks.hpp: forward-confirmed reverse DNS, MX
// and MTA-STS.
#include <algorithm>

#include "dkim/keygen.hpp"
#include "dkim/signature.hpp"
#include "doctor/checks.hpp"
#include "mta_sts/fetch.hpp"
#include "mta_sts/policy.hpp"
#include "net/cidr.hpp"
#include "util/strings.hpp"

namespace volley::doctor {

using delivery::DnsStatus;

namespace {


bool has_address(const delivery::AddressAnswer& a, const net::IpAddress& ip) {
  if (a.status != DnsStatus::Ok) return false;
  return std::any_of(a.addresses.begin(), a.addresses.end(),
                     [&](const asio::ip::address& x) { return net::IpAddress::parse(x.to_string()) == ip; });
}

std::string address_list(const delivery::AddressAnswer& a) {
  std::string out;
  for (const auto& x : a.addresses) out.append(out.empty() ? "" : ", ").append(x.to_string());
  return out;
}


std::string mx_fix(const std::string& domain, const std::string& hostname) {
  return concat("publish ", domain, ". IN MX 10 ", hostname.empty() ? "mail." + domain : hostname,
                ". (a host name with A/AAAA records)");
}

constexpr const char* kStsRecordExample = "v=STSv1; id=20250101000000";

}  // namespace

// ---- reverse DNS ----

Finding judge_reverse_dns(const std::string& address, const std::string& hostname, const delivery::PtrAnswer& ptr,
                          const std::map<std::string, delivery::AddressAnswer>& forward, bool& confirmed) {
  const std::string name = "reverse dns " + address;
  confirmed = false;
  const auto ip = net::IpAddress::parse(address);
  if (!ip) return failed(name, concat(quoted(address), " is not an IP address"));
  const std::string reverse = net::reverse_dns_name(*ip);
  const std::string a_type = ip->is_v4 ? "A" : "AAAA";
  const std::string forward_fix = concat(hostname, ". IN ", a_type, " ", address);
  const std::string ptr_fix = concat("have the address's owner (hosting provider) set the PTR ", reverse, " -> ", hostname,
                                     ", and publish ", forward_fix);
  if (ptr.status == DnsStatus::TempFail) return failed(name, temporary_dns_error("PTR " + reverse, ptr.detail));
  if (ptr.status != DnsStatus::Ok || ptr.names.empty())
    return failed(name, concat(address, " has no PTR record: receivers (Gmail, Yahoo, Microsoft) refuse or spam-folder such mail"),
                ptr_fix);
  std::vector<std::string> confirmed_names, unconfirmed, temporary;
  for (const auto& n : ptr.names) {
    auto it = forward.find(n);
    if (it == forward.end()) continue;  // beyond the names the probe asks about
    if (has_address(it->second, *ip)) confirmed_names.push_back(n);
    else if (it->second.status == DnsStatus::TempFail) temporary.push_back(n);
    else
      unconfirmed.push_back(concat(n, it->second.status == DnsStatus::Ok ? " (resolves to " + address_list(it->second) + ")"
                                                                         : " (no address)"));
  }
  confirmed = !confirmed_names.empty();
  if (std::find(confirmed_names.begin(), confirmed_names.end(), to_lower(hostname)) != confirmed_names.end())
    return passed(name, concat(address, " -> ", hostname, " -> ", address, " (forward-confirmed, and server.hostname)"));
  if (confirmed)
    return failed(name,
                concat(address, " -> ", confirmed_names.front(), " -> ", address,
                       " is forward-confirmed, but server.hostname (Volley's EHLO name) is ", quoted(hostname),
                       ": receivers compare the two"),
                concat("set server.hostname = \"", confirmed_names.front(), "\", or change the PTR to ", hostname,
                       " and publish ", forward_fix));
  if (!temporary.empty())
    return failed(name, temporary_dns_error("the addresses of " + join(temporary, ", "), ""));
  return failed(name,
              concat("the PTR of ", address, " names ", join(unconfirmed, ", "), ", which does not resolve back to ", address,
                     " (not forward-confirmed)"),
              ptr.names.front() == to_lower(hostname) ? concat("publish ", forward_fix) : ptr_fix);
}

// ---- MX ----

Finding judge_mx(const std::string& domain, const std::string& hostname, const delivery::MxAnswer& mx,
                 const std::optional<delivery::AddressAnswer>& implicit,
                 const std::map<std::string, delivery::AddressAnswer>& targets) {
  const std::string name = "mx";
  if (mx.status == DnsStatus::TempFail) return failed(name, temporary_dns_error("MX " + domain, mx.detail));
  if (mx.status == DnsStatus::NxDomain)
    return failed(name, concat(domain, " does not exist in DNS (NXDOMAIN)"), mx_fix(domain, hostname));
  if (mx.status != DnsStatus::Ok || mx.records.empty()) {
    if (implicit && implicit->status == DnsStatus::TempFail)
      return failed(name, temporary_dns_error("the addresses of " + domain, implicit->detail));
    if (implicit && implicit->status == DnsStatus::Ok)
      return passed(name, concat("no MX records; mail for ", domain, " goes to its own address (implicit MX, RFC 5321 5.1): ",
                               address_list(*implicit)));
    return failed(name,
                concat(domain, " has no MX and no address: bounces and replies cannot reach it, and receivers may "
                               "refuse mail from a domain that cannot receive"),
                mx_fix(domain, hostname));
  }
  std::vector<std::string> problems, good;
  for (const auto& r : mx.records) {
    if (r.host.empty()) {
      problems.push_back(concat("null MX (RFC 7505): ", domain,
                                " receives no mail, and receivers may refuse mail whose MAIL FROM domain has one (RFC 7505 4.2)"));
      continue;
    }
    if (net::IpAddress::parse(r.host)) {
      problems.push_back(concat("MX ", r.host, " is an IP address, not a host name (RFC 5321 5.1)"));
      continue;
    }
    if (!dkim::valid_dns_name(r.host)) {
      problems.push_back(concat("MX ", quoted(r.host), " is not a valid host name"));
      continue;
    }
    auto it = targets.find(r.host);
    if (it == targets.end()) continue;  // beyond the hosts the probe asks about
    if (it->second.status == DnsStatus::TempFail)
      problems.push_back(temporary_dns_error("the addresses of MX " + r.host, it->second.detail));
    else if (it->second.status != DnsStatus::Ok)
      problems.push_back(concat("MX ", r.host, " has no A/AAAA record"));
    else
      good.push_back(concat(std::to_string(r.preference), " ", r.host, " (", address_list(it->second), ")"));
  }
  if (!problems.empty()) return failed(name, join(problems, "; "), mx_fix(domain, hostname));
  return passed(name, concat("MX of ", domain, ": ", join(good, ", ")));
}

// ---- MTA-STS ----

Finding judge_sts_record(const std::string& domain, const delivery::TxtAnswer& txt, bool& published) {
  const std::string name = "mta-sts record";
  const std::string record_name = "_mta-sts." + domain;
  published = false;
  if (txt.status == DnsStatus::TempFail) return failed(name, temporary_dns_error("TXT " + record_name, txt.detail));
  std::vector<std::string> sts;
  if (txt.status == DnsStatus::Ok)
    for (const auto& r : txt.records)
      if (mta_sts::is_sts_record(r)) sts.push_back(r);
  const std::string fix = concat("publish one record, e.g. ", dkim::txt_record_line(record_name, kStsRecordExample),
                                 " (a new id each time the policy changes), or none");
  if (sts.empty())
    return passed(name, concat("no MTA-STS record at ", record_name, " (optional: senders deliver to ", domain,
                             " with opportunistic TLS)"));
  if (sts.size() > 1)
    return failed(name, concat(std::to_string(sts.size()), " v=STSv1 records at ", record_name,
                             ": senders ignore the policy (RFC 8461 3.1)"),
                fix);
  auto parsed = mta_sts::parse_sts_record(sts.front());
  if (!parsed)
    return failed(name, concat("the record at ", record_name, " does not parse: ", parsed.error().message, " (",
                             quoted(sts.front()), ")"),
                fix);
  published = true;
  return passed(name, concat(record_name, ": v=STSv1 id=", parsed->id));
}

Finding judge_sts_policy(const std::string& domain, const Result<std::string>& fetched,
                         const std::vector<std::string>& mx_hosts) {
  const std::string name = "mta-sts policy";
  const std::string url = concat("https://", mta_sts::policy_host(domain), "/.well-known/mta-sts.txt");
  if (!fetched)
    return failed(name, concat("cannot fetch ", url, ": ", fetched.error().message),
                concat("serve the policy at ", url, " with a certificate valid for ", mta_sts::policy_host(domain),
                       ", or remove the _mta-sts TXT record"));
  auto policy = mta_sts::parse_policy(fetched.value());
  if (!policy)
    return failed(name, concat("the policy at ", url, " does not parse: ", policy.error().message),
                "serve e.g. \"version: STSv1\\nmode: testing\\nmx: <each MX host>\\nmax_age: 86400\\n\"");
  std::vector<std::string> unmatched;
  for (const auto& h : mx_hosts)
    if (!mta_sts::mx_allowed(*policy, h)) unmatched.push_back(h);
  if (policy->mode == mta_sts::Mode::Enforce && !unmatched.empty())
    return failed(name,
                concat("mode enforce, but MX ", join(unmatched, ", "),
                       " matches no mx: line: senders that enforce the policy will not deliver there"),
                concat("add mx: ", unmatched.front(), " (and any other MX host) to the policy at ", url));
  return passed(name, concat(url, ": mode ", mta_sts::mode_name(policy->mode), ", max_age ",
                           std::to_string(policy->max_age), ", mx ", join(policy->mx, " ")));
}

}  // namespace volley::doctor
