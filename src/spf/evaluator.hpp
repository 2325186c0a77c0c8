// The SPF check (RFC 7208 check_host()) as a sans-I/O state machine: it asks
// for one DNS answer at a time and is fed the answers; the caller does the
// I/O (check_spf.hpp over the delivery Resolver, a zone table in tests).
//
//   SpfEvaluator e(inputs);
//   while (auto* q = std::get_if<DnsQuestion>(&step = e.next())) e.answer(*q, lookup(*q));
//
// Internally each next() replays the evaluation from the start over the
// answers received so far, until it needs one it does not have. Replaying
// keeps the evaluator a plain recursive reading of the RFC (includes,
// redirects, limits counted as they happen) instead of a hand-built stack of
// suspended frames; the cost is bounded by limits::kMaxDnsQueries replays of
// at most that many cached lookups each.
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "delivery/dns_types.hpp"
#include "net/cidr.hpp"

namespace volley::spf {

enum class SpfVerdict { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };
// "none", "neutral", "pass", ... as in Received-SPF and Authentication-Results.
const char* verdict_name(SpfVerdict v);

struct SpfInputs {
  net::IpAddress client;   // the SMTP client's address (IPv4-mapped IPv6 counts as IPv4)
  std::string helo;        // the HELO/EHLO name
  // "local@domain"; "" (a bounce) checks postmaster@helo, which is also how
  // the HELO identity is checked (RFC 7208 2.3).
  std::string mail_from;
  std::string receiver;    // our host name (%{r})
};

struct SpfResult {
  SpfVerdict verdict = SpfVerdict::None;
  std::string reason;     // why, for logs and the Authentication-Results comment
  std::string mechanism;  // the term that decided ("-all", "include:x"), "" if none did
  std::string domain;     // the domain whose policy was checked (the identity's domain)
};

enum class DnsType { Txt, A, Aaaa, Mx, Ptr };
const char* dns_type_name(DnsType t);

struct DnsQuestion {
  DnsType type = DnsType::Txt;
  std::string name;  // lowercase; for Ptr the reverse name ("4.3.2.1.in-addr.arpa")
  auto operator<=>(const DnsQuestion&) const = default;
};

struct DnsReply {
  delivery::DnsStatus status = delivery::DnsStatus::TempFail;
  // Txt: one string per record (its strings joined); A/Aaaa: addresses as
  // text; Mx: exchange names (in preference order); Ptr: names.
  std::vector<std::string> records;
};

class SpfEvaluator {
 public:
  explicit SpfEvaluator(SpfInputs inputs);

  // The next question, or the result once there is one (then stable).
  std::variant<DnsQuestion, SpfResult> next();
  // The answer to a question next() asked.
  void answer(const DnsQuestion& question, DnsReply reply);

  // The identity actually checked (postmaster@helo for an empty MAIL FROM).
  const std::string& sender() const { return sender_; }
  // Its domain, whose policy is checked.
  const std::string& domain() const { return domain_; }

 private:
  SpfInputs in_;
  std::string sender_, local_, domain_;
  std::map<DnsQuestion, DnsReply> answers_;
};

}  // namespace volley::spf
