#include "delivery/transport_security.hpp"

namespace volley::delivery {

bool tlsa_usable(const TlsaRecord& r) {
  if (r.usage != 2 && r.usage != 3) return false;
  if (r.selector > 1) return false;
  switch (r.mtype) {
    case 0: return !r.data.empty();
    case 1: return r.data.size() == 32;
    case 2: return r.data.size() == 64;
    default: return false;
  }
}

std::string tlsa_name(std::string_view mx_host, uint16_t port) {
  std::string name = "_";  // appended piecewise: GCC 12 -O3 reports a false -Wrestrict on "_" + string
  name += std::to_string(port);
  name += "._tcp.";
  name += mx_host;
  return name;
}

std::string policy_label(const PeerPolicy* p) {
  if (!p) return "none";
  switch (p->kind) {
    case PolicyKind::None: return "none";
    case PolicyKind::MtaSts: return p->testing ? "mta-sts testing" : "mta-sts";
    case PolicyKind::Dane: return "dane";
  }
  return "none";
}

namespace {

const char* tls_problem(TlsOutcome tls) {
  switch (tls) {
    case TlsOutcome::NotOffered: return "does not offer STARTTLS";
    case TlsOutcome::HandshakeFailed: return "failed the TLS handshake";
    case TlsOutcome::Unverified: return "presented a certificate that does not validate";
    case TlsOutcome::Verified: return "";
  }
  return "";
}

}  // namespace

Decision decide(const PeerPolicy* p, std::string_view host, bool mx_matches, TlsOutcome tls) {
  if (!p || p->kind == PolicyKind::None) return {};
  const std::string h(host);
  if (p->kind == PolicyKind::Dane) {
    if (tls == TlsOutcome::Verified) return {};
    if (tls == TlsOutcome::Unverified && p->tlsa.empty()) return {};
    const char* what = tls == TlsOutcome::Unverified ? "presented a certificate that matches no TLSA record"
                                                     : tls_problem(tls);
    return {Verdict::Defer, "DANE (RFC 7672) TLSA records of " + h + " require authenticated TLS, but it " + what};
  }
  const Verdict fail = p->testing ? Verdict::DeliverAndLog : Verdict::Defer;
  const std::string head = "MTA-STS policy of " + p->domain + (p->testing ? " (mode testing)" : " (mode enforce)");
  if (!mx_matches) return {fail, head + " does not list MX host " + h};
  if (tls == TlsOutcome::Verified) return {};
  std::string why = head + " requires TLS with a valid certificate for " + h + ", but it " + tls_problem(tls);
  return {fail, std::move(why)};
}

}  // namespace volley::delivery
