// Receivers' transport-security policies for outbound delivery: which one
// applies to an MX host (none, MTA-STS RFC 8461, DANE RFC 7672) and what a
// connection's TLS outcome means under it (deliver, defer, or deliver and
// log what would have failed). Pure: the router picks the policy from DNS
// and the MTA-STS cache, the SMTP client reports the TLS outcome.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace volley::delivery {

// One TLSA record (RFC 6698 2.1): usage, selector, matching type, data.
struct TlsaRecord {
  uint8_t usage = 0;     // 2 DANE-TA, 3 DANE-EE (0 and 1 are unusable for SMTP, RFC 7672 3.1.3)
  uint8_t selector = 0;  // 0 full certificate, 1 SubjectPublicKeyInfo
  uint8_t mtype = 0;     // 0 exact, 1 SHA-256, 2 SHA-512
  std::string data;      // binary
  bool operator==(const TlsaRecord&) const = default;
};

// Usable for SMTP (RFC 7672 3.1): usage 2 or 3, selector 0 or 1, matching
// type 0, 1 (32 bytes) or 2 (64 bytes), data not empty.
bool tlsa_usable(const TlsaRecord& r);

// "_25._tcp.mx.example.com" (RFC 7672 3: the MX host name and SMTP port).
std::string tlsa_name(std::string_view mx_host, uint16_t port);

enum class PolicyKind { None, MtaSts, Dane };

// What applies to one endpoint; shared by the cached endpoints of a route.
struct PeerPolicy {
  PolicyKind kind = PolicyKind::None;
  bool testing = false;         // MTA-STS mode testing: log what fails, deliver anyway
  std::string domain;           // the recipient domain whose policy this is (for reasons)
  std::vector<TlsaRecord> tlsa; // Dane: the usable records (empty: TLS mandatory, unauthenticated)
};

// "none", "mta-sts", "mta-sts testing", "dane": what the delivery log says.
std::string policy_label(const PeerPolicy* p);

enum class TlsOutcome {
  NotOffered,       // no STARTTLS, or STARTTLS refused
  HandshakeFailed,  // the TLS handshake failed
  Unverified,       // encrypted, but the certificate did not validate (chain, name, or TLSA)
  Verified,         // encrypted and the certificate validated
};

enum class Verdict {
  Deliver,        // carry on
  Defer,          // give up on this host, the mail stays queued (4.x, never a bounce)
  DeliverAndLog,  // MTA-STS testing: carry on, log what would have failed
};

struct Decision {
  Verdict verdict = Verdict::Deliver;
  std::string reason;  // for Defer and DeliverAndLog, naming the policy and the host
};

// The policy's judgement of a connection to `host`: `mx_matches` is whether
// an MTA-STS policy names the host (ignored for other kinds), `tls` how TLS
// went. None: always Deliver. MTA-STS enforce: a host the policy does not
// name, or any TLS outcome but Verified, defers; testing: the same cases
// DeliverAndLog. DANE: TLS is mandatory; with usable records only Verified
// delivers, without (all records unusable) an unverified session will do
// (RFC 7672 2.2).
Decision decide(const PeerPolicy* p, std::string_view host, bool mx_matches, TlsOutcome tls);

}  // namespace volley::delivery
