// See probe.hpp. Each lookup waits on a timer that expires at the earlier
// of its own deadline (delivery.dns_timeout) and the run's; the resolver's
// answer cancels it. A lookup that times out is a TempFail answer, which
// the verdicts report as "temporary DNS error", never as a pass.
#include "doctor/probe.hpp"

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <memory>
#include <optional>

#include "dkim/signature.hpp"
#include "net/cidr.hpp"
#include "spf/check_spf.hpp"
#include "util/strings.hpp"

namespace volley::doctor {

namespace {

using delivery::DnsStatus;
using Clock = std::chrono::steady_clock;

class Lookups {
 public:
  Lookups(delivery::Resolver& resolver, std::chrono::milliseconds per_lookup, Clock::time_point run_deadline)
      : resolver_(resolver), per_lookup_(per_lookup), run_deadline_(run_deadline) {}

  asio::awaitable<delivery::TxtAnswer> txt(const std::string& name) {
    return ask<delivery::TxtAnswer>([this, name](auto done) { resolver_.query_txt(name, std::move(done)); });
  }
  asio::awaitable<delivery::MxAnswer> mx(const std::string& name) {
    return ask<delivery::MxAnswer>([this, name](auto done) { resolver_.query_mx(name, std::move(done)); });
  }
  asio::awaitable<delivery::AddressAnswer> addresses(const std::string& name) {
    return ask<delivery::AddressAnswer>([this, name](auto done) { resolver_.query_addresses(name, std::move(done)); });
  }
  asio::awaitable<delivery::PtrAnswer> ptr(const std::string& name) {
    return ask<delivery::PtrAnswer>([this, name](auto done) { resolver_.query_ptr(name, std::move(done)); });
  }
  // What is left of the run, for the SPF check and the policy fetch.
  std::chrono::milliseconds remaining() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(run_deadline_ - Clock::now());
    return std::max(left, std::chrono::milliseconds(1));
  }

 private:
  // One lookup in flight; shared with the resolver's callback, which may
  // run after the probe gave up on it.
  template <class Answer>
  struct Pending {
    explicit Pending(const asio::any_io_executor& ex) : wake(ex) {}
    asio::steady_timer wake;
    std::optional<Answer> answer;
  };

  template <class Answer, class Ask>
  asio::awaitable<Answer> ask(Ask start) {
    auto pending = std::make_shared<Pending<Answer>>(co_await asio::this_coro::executor);
    pending->wake.expires_at(std::min(Clock::now() + per_lookup_, run_deadline_));
    start([pending](Answer a) {
      pending->answer = std::move(a);
      pending->wake.cancel();
    });
    if (!pending->answer) {
      std::error_code ec;  // operation_aborted: the answer came
      co_await pending->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (pending->answer) co_return std::move(*pending->answer);
    Answer timed_out;
    timed_out.status = DnsStatus::TempFail;
    timed_out.detail = Clock::now() >= run_deadline_ ? "the doctor's total time ran out"
                                                      : concat("timed out after ", std::to_string(per_lookup_.count()), " ms");
    co_return timed_out;
  }

  delivery::Resolver& resolver_;
  std::chrono::milliseconds per_lookup_;
  Clock::time_point run_deadline_;
};

asio::awaitable<Finding> check_spf_address(Lookups& dns, delivery::Resolver& resolver, const ProbeOptions& o,
                                           const std::string& address, const std::string& record) {
  spf::SpfInputs in;
  in.client = *net::IpAddress::parse(address);
  in.helo = o.hostname;
  in.mail_from = "postmaster@" + o.domain;
  in.receiver = o.hostname;
  const auto result =
      co_await spf::check_spf(resolver, in, std::min(spf::limits::kDefaultCheckTimeout, dns.remaining()));
  co_return judge_spf_address(o.domain, address, result, record, o.addresses);
}

asio::awaitable<Finding> check_reverse_dns(Lookups& dns, const ProbeOptions& o, const std::string& address,
                                           bool& confirmed) {
  const auto ip = net::IpAddress::parse(address);
  delivery::PtrAnswer ptr;
  std::map<std::string, delivery::AddressAnswer> forward;
  if (ip) {
    ptr = co_await dns.ptr(net::reverse_dns_name(*ip));
    if (ptr.status == DnsStatus::Ok)
      for (size_t i = 0; i < ptr.names.size() && i < limits::kMaxPtrNames; ++i)
        if (!forward.count(ptr.names[i])) forward[ptr.names[i]] = co_await dns.addresses(ptr.names[i]);
  }
  co_return judge_reverse_dns(address, o.hostname, ptr, forward, confirmed);
}

// MX check; `hosts` gets the MX host names (for the MTA-STS policy check).
asio::awaitable<Finding> check_mx(Lookups& dns, const ProbeOptions& o, std::vector<std::string>& hosts) {
  const auto mx = co_await dns.mx(o.domain);
  std::optional<delivery::AddressAnswer> implicit;
  std::map<std::string, delivery::AddressAnswer> targets;
  if (mx.status == DnsStatus::NoRecords || (mx.status == DnsStatus::Ok && mx.records.empty()))
    implicit = co_await dns.addresses(o.domain);
  if (mx.status == DnsStatus::Ok)
    for (const auto& r : mx.records) {
      if (r.host.empty() || net::IpAddress::parse(r.host) || !dkim::valid_dns_name(r.host)) continue;
      if (std::find(hosts.begin(), hosts.end(), r.host) == hosts.end()) hosts.push_back(r.host);
      if (targets.size() < limits::kMaxMxHosts && !targets.count(r.host)) targets[r.host] = co_await dns.addresses(r.host);
    }
  co_return judge_mx(o.domain, o.hostname, mx, implicit, targets);
}

asio::awaitable<void> check_mta_sts(Lookups& dns, const ProbeOptions& o, const std::vector<std::string>& mx_hosts,
                                    const PolicyFetcher& fetch, std::vector<Finding>& out) {
  bool published = false;
  out.push_back(judge_sts_record(o.domain, co_await dns.txt("_mta-sts." + o.domain), published));
  if (!published) co_return;
  const std::string host = mta_sts::policy_host(o.domain);
  const auto addrs = co_await dns.addresses(host);
  Result<std::string> fetched = Error(ErrorCode::NotFound, "not fetched");
  if (addrs.status == DnsStatus::TempFail) {
    fetched = Error(ErrorCode::Temporary, temporary_dns_error("the addresses of " + host, addrs.detail));
  } else if (addrs.status != DnsStatus::Ok) {
    fetched = Error(ErrorCode::NotFound, host + " has no A/AAAA record");
  } else {
    mta_sts::FetchOptions fo = o.policy_fetch;
    fo.addresses.clear();
    for (const auto& a : addrs.addresses) fo.addresses.push_back(a.to_string());
    fo.timeout = std::min({fo.timeout, limits::kPolicyFetchTimeout, dns.remaining()});
    fetched = fetch(o.domain, fo);
  }
  out.push_back(judge_sts_policy(o.domain, fetched, mx_hosts));
}

}  // namespace

asio::awaitable<Report> probe(delivery::Resolver& resolver, const ProbeOptions& o, const dmarc::PublicSuffixList& psl,
                              PolicyFetcher fetch) {
  Lookups dns(resolver, o.dns_timeout, Clock::now() + o.total_timeout);
  Report report;
  report.domain = o.domain;
  auto& checks = report.checks;

  // Sending addresses.
  std::vector<std::string> addresses;
  for (const auto& a : o.addresses)
    if (addresses.size() < limits::kMaxAddresses && net::IpAddress::parse(a)) addresses.push_back(a);
  if (addresses.empty())
    checks.push_back(failed("sending addresses",
                            concat("unknown: ", o.addresses_unknown.empty() ? "none given" : o.addresses_unknown,
                                   "; SPF and reverse DNS of the sending addresses cannot be checked"),
                            "name them: --address IP (repeatable), or set delivery.source_addresses"));

  // SPF: the record, then every sending address against it.
  std::string spf_record;
  checks.push_back(judge_spf_record(o.domain, co_await dns.txt(o.domain), addresses, spf_record));
  bool spf_pass = !addresses.empty() && checks.back().status == Status::Pass;
  if (checks.back().status == Status::Pass)
    for (const auto& a : addresses) {
      checks.push_back(co_await check_spf_address(dns, resolver, o, a, spf_record));
      spf_pass = spf_pass && checks.back().status == Status::Pass;
    }

  // DKIM: every key that signs for the domain is published.
  std::vector<std::string> dkim_pass_domains;
  if (o.dkim.empty()) checks.push_back(no_dkim_entry(o.domain));
  for (const auto& e : o.dkim) {
    checks.push_back(judge_dkim(e, co_await dns.txt(dkim_record_name(e))));
    if (checks.back().status == Status::Pass) dkim_pass_domains.push_back(e.domain);
  }

  // DMARC: the record (at the domain, else its organizational domain), and
  // alignment of what passed.
  const auto at_domain = co_await dns.txt("_dmarc." + o.domain);
  auto lookup = dmarc_lookup_from(o.domain, at_domain, "", std::nullopt);
  const std::string org = psl.organizational_domain(o.domain);
  if (lookup.kind == dmarc::PolicyLookup::Kind::NotFound && !org.empty() && org != o.domain)
    lookup = dmarc_lookup_from(o.domain, at_domain, org, co_await dns.txt("_dmarc." + org));
  checks.push_back(judge_dmarc_record(o.domain, lookup));
  checks.push_back(judge_dmarc_alignment(o.domain, lookup, spf_pass, dkim_pass_domains, psl));

  // Forward-confirmed reverse DNS.
  bool all_confirmed = !addresses.empty();
  for (const auto& a : addresses) {
    bool confirmed = false;
    checks.push_back(co_await check_reverse_dns(dns, o, a, confirmed));
    all_confirmed = all_confirmed && confirmed;
  }

  // MX and MTA-STS.
  std::vector<std::string> mx_hosts;
  checks.push_back(co_await check_mx(dns, o, mx_hosts));
  co_await check_mta_sts(dns, o, mx_hosts, fetch, checks);

  report.rules = bulk_sender_rules(checks, all_confirmed, o.delivery_tls);
  co_return report;
}

}  // namespace volley::doctor
