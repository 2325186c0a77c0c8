#include "admin/doctor_command.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <ostream>

#include "delivery/dns_resolver.hpp"
#include "dkim/keygen.hpp"
#include "inbound/dkim_signing.hpp"
#include "doctor/probe.hpp"
#include "doctor/report.hpp"
#include "net/cidr.hpp"
#include "util/strings.hpp"

namespace volley::admin {

namespace {

constexpr int kExitPass = 0, kExitFail = 1, kExitUsage = 2;

// Well-known public resolvers, only as routing targets: connect() on a
// UDP socket picks the source address and sends nothing.
constexpr const char* kPublicV4 = "8.8.8.8";
constexpr const char* kPublicV6 = "2001:4860:4860::8888";

std::optional<std::string> source_toward(const char* target, int family, std::string& why) {
  int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  sockaddr_storage to{}, from{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* s = reinterpret_cast<sockaddr_in*>(&to);
    s->sin_family = AF_INET;
    s->sin_port = htons(53);
    ::inet_pton(AF_INET, target, &s->sin_addr);
    len = sizeof(sockaddr_in);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&to);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(53);
    ::inet_pton(AF_INET6, target, &s->sin6_addr);
    len = sizeof(sockaddr_in6);
  }
  std::optional<std::string> result;
  socklen_t from_len = sizeof from;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), len) != 0) why = std::strerror(errno);
  else if (::getsockname(fd, reinterpret_cast<sockaddr*>(&from), &from_len) != 0) why = std::strerror(errno);
  else {
    char text[INET6_ADDRSTRLEN] = {};
    const void* a = family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&from)->sin_addr)
                                      : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr);
    if (::inet_ntop(family, a, text, sizeof text)) result = text;
  }
  ::close(fd);
  return result;
}

std::string json_or_text(const doctor::Report& r, bool json) {
  return json ? doctor::render_json(r) : doctor::render_text(r);
}

}  // namespace

std::vector<std::string> outbound_addresses(std::string& why) {
  std::vector<std::string> out;
  std::string why4, why6;
  if (auto a = source_toward(kPublicV4, AF_INET, why4)) out.push_back(*a);
  if (auto a = source_toward(kPublicV6, AF_INET6, why6)) out.push_back(*a);
  if (out.empty())
    why = concat("the outbound address is unknown (no route to the Internet: IPv4 ", why4, ", IPv6 ", why6, ")");
  return out;
}

int run_doctor(const DoctorOptions& opts, const config::Config& cfg, std::ostream& out, std::ostream& err) {
  auto usage = [&](const std::string& reason) {
    err << "volley: doctor: " << reason << "\n";
    return kExitUsage;
  };
  std::string domain = to_lower(opts.domain);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (!dkim::valid_dns_name(domain) || domain.find('.') == std::string::npos)
    return usage(concat("bad DOMAIN ", quoted(opts.domain), " (expected a domain name like example.com)"));

  doctor::ProbeOptions o;
  o.domain = domain;
  o.hostname = to_lower(cfg.server.hostname);
  o.delivery_tls = cfg.delivery.tls;
  o.dns_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.delivery.dns_timeout);
  o.policy_fetch.port = opts.mta_sts_port;
  // libcurl reads its own CA bundle; honour the OpenSSL variable operators
  // (and tests) use to name another one.
  if (const char* ca = std::getenv("SSL_CERT_FILE"); ca && *ca) o.policy_fetch.ca_file = ca;

  std::string source;
  if (!opts.addresses.empty()) {
    for (const auto& a : opts.addresses)
      if (!net::IpAddress::parse(a)) return usage(concat("--address ", quoted(a), " is not an IP address"));
    o.addresses = opts.addresses;
    source = "--address";
  } else if (!cfg.delivery.source_addresses.empty()) {
    o.addresses = cfg.delivery.source_addresses;
    source = "delivery.source_addresses";
  } else {
    o.addresses = outbound_addresses(o.addresses_unknown);
    source = "the outbound address";
  }

  // The [[dkim]] entries that sign mail From the domain, chosen as the
  // intake's signer chooses (inbound::DkimSigning): those of the domain, or
  // of its closest parent that has entries.
  const std::string signing_domain(inbound::closest_signing_domain(domain, [&](std::string_view d) {
    return std::any_of(cfg.dkim.begin(), cfg.dkim.end(), [d](const config::DkimKey& k) { return k.domain == d; });
  }));
  for (const auto& k : cfg.dkim) {
    if (signing_domain.empty() || k.domain != signing_domain) continue;
    doctor::DkimExpectation e{k.domain, k.selector, k.key, Error("not loaded")};
    auto alg = dkim::parse_algorithm(k.algorithm);
    auto key = alg ? dkim::load_signing_key(k.key, *alg) : Result<std::shared_ptr<const dkim::SigningKey>>(Error("bad algorithm " + k.algorithm));
    if (!key) e.record_text = key.error();
    else e.record_text = dkim::key_record_text(*key.value());
    o.dkim.push_back(std::move(e));
  }

  auto psl = dmarc::PublicSuffixList::load();
  if (!psl) return usage(psl.error().message);

  asio::io_context io;
  auto resolver = delivery::DnsResolver::create(io, cfg.delivery.resolver, o.dns_timeout);
  if (!resolver) return usage(concat("delivery.resolver: ", resolver.error().message));

  std::optional<doctor::Report> report;
  asio::co_spawn(io, doctor::probe(*resolver.value(), o, *psl.value(), mta_sts::fetch_policy),
                 [&](std::exception_ptr e, doctor::Report r) {
                   if (!e) report = std::move(r);
                 });
  io.run();
  resolver.value().reset();  // posts the cancelled lookups' callbacks
  io.restart();
  io.run();
  if (!report) return usage("the checks stopped unexpectedly");
  report->notes.push_back(concat("resolver: ", cfg.delivery.resolver.empty() ? "the system's" : cfg.delivery.resolver,
                                 ", each lookup within ", std::to_string(o.dns_timeout.count()), " ms"));
  report->notes.push_back(concat("server.hostname: ", o.hostname));
  report->notes.push_back(o.addresses.empty() ? concat("sending addresses: ", o.addresses_unknown)
                                              : concat("sending addresses (", source, "): ", doctor::join(o.addresses, ", ")));
  if (!cfg.delivery.smarthost.empty() && opts.addresses.empty())
    report->notes.push_back(concat("delivery.smarthost is ", cfg.delivery.smarthost,
                                   ": receivers see the smarthost's addresses; name them with --address"));
  out << json_or_text(*report, opts.json);
  return report->passed() ? kExitPass : kExitFail;
}

}  // namespace volley::admin
