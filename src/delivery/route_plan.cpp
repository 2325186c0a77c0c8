// MX answer -> hosts to try, and "host:port" parsing. See route_plan.hpp.
#include "delivery/route_plan.hpp"

#include <algorithm>
#include <unordered_set>

#include "net/cidr.hpp"
#include "smtp/address.hpp"
#include "util/strings.hpp"

namespace volley::delivery {
namespace {

// DNS names as we compare and print them: lowercased, without the root's dot.
std::string normalise_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return to_lower(name);
}

RoutePlan make_plan(RoutePlan::Kind kind, std::string detail) {
  RoutePlan plan;
  plan.kind = kind;
  plan.detail = std::move(detail);
  return plan;
}

RoutePlan implicit_mx(const std::string& domain, std::string_view why) {
  RoutePlan plan = make_plan(RoutePlan::Kind::Hosts, "no MX records for " + domain + " (" + std::string(why) +
                                                         "): delivering to the domain itself (implicit MX)");
  plan.hosts.push_back(domain);
  plan.implicit = true;
  return plan;
}

RoutePlan hosts_from_records(const MxAnswer& answer, const std::string& domain, std::mt19937& rng,
                             size_t max_hosts) {
  std::vector<MxRecord> usable;
  usable.reserve(answer.records.size());
  for (const auto& r : answer.records) {
    std::string host = normalise_name(r.host);
    // "." is the null MX (RFC 7505). Beside other records it is a
    // misconfiguration; the other records still say where mail goes.
    if (!host.empty()) usable.push_back({r.preference, std::move(host)});
  }
  if (usable.empty())
    return make_plan(RoutePlan::Kind::NullMx, domain + " does not accept mail (null MX, RFC 7505)");

  // Lowest preference first; hosts sharing a preference in random order so
  // that senders spread their load over them (RFC 5321 5.1).
  std::stable_sort(usable.begin(), usable.end(),
                   [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
  for (auto first = usable.begin(); first != usable.end();) {
    auto last = std::find_if(first, usable.end(),
                             [&](const MxRecord& r) { return r.preference != first->preference; });
    std::shuffle(first, last, rng);
    first = last;
  }

  RoutePlan plan = make_plan(RoutePlan::Kind::Hosts, "");
  std::unordered_set<std::string> seen;
  for (auto& r : usable) {
    if (plan.hosts.size() >= max_hosts) break;
    if (seen.insert(r.host).second) plan.hosts.push_back(std::move(r.host));
  }
  plan.detail = std::to_string(plan.hosts.size()) + " MX host(s) for " + domain;
  return plan;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A host name we would look up: valid DNS syntax, at most 253 octets (the
// longest name DNS can carry without its root dot), and not something that
// only looks like a mistyped IPv4 address ("256.1.1.1", "10.1"): no
// top-level domain is all digits.
bool valid_host_name(std::string_view s) {
  if (s.size() > 253 || !smtp::is_valid_domain(s)) return false;
  const size_t dot = s.rfind('.');
  return !all_digits(dot == std::string_view::npos ? s : s.substr(dot + 1));
}

Result<uint16_t> parse_port(std::string_view text, std::string_view whole) {
  if (text.empty() || text.size() > 5 || !all_digits(text))
    return make_error("bad port \"" + printable(text) + "\" in \"" + printable(whole) + "\"");
  unsigned value = 0;
  for (char c : text) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value < 1 || value > 65535) return make_error("port must be 1..65535, got " + std::string(text));
  return static_cast<uint16_t>(value);
}

}  // namespace

RoutePlan plan_routes(const MxAnswer& answer, std::string_view domain_in, std::mt19937& rng, size_t max_hosts) {
  const std::string domain = normalise_name(domain_in);
  switch (answer.status) {
    case DnsStatus::Ok:
      // A server saying "Ok" with no records is the same as NODATA.
      if (answer.records.empty()) return implicit_mx(domain, "empty answer");
      return hosts_from_records(answer, domain, rng, max_hosts);
    case DnsStatus::NoRecords:
      return implicit_mx(domain, "NODATA");
    case DnsStatus::NxDomain:
      return make_plan(RoutePlan::Kind::NoSuchDomain,
                       "domain " + domain + " does not exist" + (answer.detail.empty() ? "" : " (" + answer.detail + ")"));
    case DnsStatus::TempFail:
      break;
  }
  return make_plan(RoutePlan::Kind::TempFail, "MX lookup for " + domain + " failed temporarily" +
                                                  (answer.detail.empty() ? "" : ": " + answer.detail));
}

bool HostPort::needs_mx_lookup() const { return !literal_brackets && !is_ip_literal(host); }

bool is_ip_literal(std::string_view s) { return net::IpAddress::parse(s).has_value(); }

Result<HostPort> parse_host_port(std::string_view s, uint16_t default_port) {
  HostPort hp;
  hp.port = default_port;
  std::string_view host, port;
  bool has_port = false;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos) return make_error("missing ']' in \"" + printable(s) + "\"");
    host = s.substr(1, close - 1);
    const std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return make_error("expected \":port\" after ']' in \"" + printable(s) + "\"");
      port = rest.substr(1);
      has_port = true;
    }
    hp.literal_brackets = true;
  } else {
    const size_t colon = s.find(':');
    if (colon != s.rfind(':'))  // "::1", "::1:25": which part is the port?
      return make_error("IPv6 addresses must be in brackets, like \"[::1]:25\", got \"" + printable(s) + "\"");
    host = s.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = s.substr(colon + 1);
      has_port = true;
    }
  }
  if (host.empty()) return make_error("empty host in \"" + printable(s) + "\"");
  if (has_port) {
    auto p = parse_port(port, s);
    if (!p) return p.error();
    hp.port = *p;
  }
  if (auto ip = net::IpAddress::parse(host)) {
    // IPv6 needs the brackets; an IPv4 address may have them or not.
    if (!ip->is_v4 && !hp.literal_brackets)
      return make_error("IPv6 addresses must be in brackets, like \"[::1]:25\", got \"" + printable(s) + "\"");
    hp.host = to_lower(host);
    return hp;
  }
  if (!valid_host_name(host))
    return make_error(quoted(host) + " is neither a host name nor an IP address");
  hp.host = to_lower(host);
  return hp;
}

}  // namespace volley::delivery
