// See evaluator.hpp. One Replay is one pass of check_host() (RFC 7208 4)
// over the answers known so far; it ends with a result or with the first
// question it has no answer for.
#include "spf/evaluator.hpp"

#include <algorithm>
#include <optional>

#include "spf/limits.hpp"
#include "spf/macro.hpp"
#include "spf/record.hpp"
#include "util/strings.hpp"

namespace volley::spf {
namespace {

using delivery::DnsStatus;

SpfVerdict verdict_of(Qualifier q) {
  switch (q) {
    case Qualifier::Pass: return SpfVerdict::Pass;
    case Qualifier::Fail: return SpfVerdict::Fail;
    case Qualifier::SoftFail: return SpfVerdict::SoftFail;
    case Qualifier::Neutral: return SpfVerdict::Neutral;
  }
  return SpfVerdict::Neutral;
}

bool has_p_macro(std::string_view spec) {
  return spec.find("%{p") != std::string_view::npos || spec.find("%{P") != std::string_view::npos;
}

// `name` is `domain` or a subdomain of it (case-insensitively).
bool within(std::string_view name, std::string_view domain) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (iequals(name, domain)) return true;
  return name.size() > domain.size() && name[name.size() - domain.size() - 1] == '.' &&
         iequals(name.substr(name.size() - domain.size()), domain);
}

class Replay {
 public:
  Replay(const SpfInputs& in, const std::string& sender, const std::string& local,
         const std::map<DnsQuestion, DnsReply>& answers)
      : in_(in), sender_(sender), local_(local), answers_(answers) {}

  std::variant<DnsQuestion, SpfResult> run(const std::string& domain) {
    SpfResult result;
    result.domain = domain;
    const Flow f = check_host(domain, 0, result);
    if (f == Flow::Pending) return *pending_;
    if (f == Flow::Error) {
      result.verdict = error_;
      result.reason = reason_;
    }
    return result;
  }

 private:
  // Ok: carry on; Pending: a question has no answer yet (pending_);
  // Error: the check ends with error_ (temperror/permerror) and reason_.
  enum class Flow { Ok, Pending, Error };

  Flow fail(SpfVerdict v, std::string reason) {
    error_ = v;
    reason_ = std::move(reason);
    return Flow::Error;
  }
  Flow perm(std::string reason) { return fail(SpfVerdict::PermError, std::move(reason)); }

  // How a lookup's failures count. Lookups made to validate the client's
  // PTR names are Lenient: a DNS error only drops that name (RFC 7208 5.5),
  // and their empty answers are not void lookups, because the client's
  // owner, not the sender's domain, controls them (a spammer's ten bogus
  // PTR names must not turn a sender's ptr into a permerror).
  enum class Mode { Strict, Lenient };

  // One DNS answer. An invalid name is never asked: it is a void lookup.
  Flow lookup(DnsType type, const std::string& name, const DnsReply*& out, Mode mode = Mode::Strict) {
    static const DnsReply kVoid{DnsStatus::NxDomain, {}};
    out = &kVoid;
    if (is_valid_lookup_name(name)) {
      if (++queries_ > limits::kMaxDnsQueries) return perm("too many DNS lookups");
      const DnsQuestion q{type, to_lower(name)};
      auto it = answers_.find(q);
      if (it == answers_.end()) {
        pending_ = q;
        return Flow::Pending;
      }
      out = &it->second;
      if (out->status == DnsStatus::TempFail) {
        if (mode == Mode::Lenient) return Flow::Ok;
        return fail(SpfVerdict::TempError, concat("DNS lookup of ", dns_type_name(type), " ", name, " failed"));
      }
    }
    if (mode == Mode::Strict && (out->status != DnsStatus::Ok || out->records.empty())) {
      if (++voids_ > limits::kMaxVoidLookups)
        return perm(concat("more than ", std::to_string(limits::kMaxVoidLookups), " void DNS lookups"));
    }
    return Flow::Ok;
  }

  Flow count_dns_term() {
    if (++dns_terms_ > limits::kMaxDnsMechanisms)
      return perm(concat("more than ", std::to_string(limits::kMaxDnsMechanisms), " DNS-querying mechanisms"));
    return Flow::Ok;
  }

  // The validated names of the client (RFC 7208 5.5): PTR names (the first
  // 10) whose addresses include the client. DNS errors only drop names.
  Flow validated_names(std::vector<std::string>& names) {
    const DnsReply* ptr = nullptr;
    if (Flow f = lookup(DnsType::Ptr, net::reverse_dns_name(in_.client), ptr, Mode::Lenient); f != Flow::Ok) return f;
    if (ptr->status != DnsStatus::Ok) return Flow::Ok;
    const size_t n = std::min(ptr->records.size(), limits::kMaxPtrNames);
    for (size_t i = 0; i < n; ++i) {
      bool matched = false;
      if (Flow f = addresses_match(ptr->records[i], 32, 128, matched, Mode::Lenient); f != Flow::Ok) return f;
      if (matched) names.push_back(ptr->records[i]);
    }
    return Flow::Ok;
  }

  Flow expand(const std::string& spec, const std::string& domain, std::string& out) {
    MacroValues v;
    v.sender = sender_;
    v.local = local_;
    const size_t at = sender_.rfind('@');
    v.sender_domain = at == std::string::npos ? sender_ : sender_.substr(at + 1);
    v.domain = domain;
    v.ip = macro_ip(in_.client);
    v.ip_version = in_.client.is_v4 ? "in-addr" : "ip6";
    v.helo = in_.helo;
    v.client_ip = in_.client.to_string();
    v.receiver = in_.receiver;
    if (has_p_macro(spec)) {
      std::vector<std::string> names;
      if (Flow f = validated_names(names); f != Flow::Ok) return f;
      for (const auto& n : names)
        if (within(n, domain)) {
          v.ptr = n;
          break;
        }
      if (v.ptr == "unknown" && !names.empty()) v.ptr = names.front();
    }
    auto r = expand_macros(spec, v);
    if (!r) return perm(r.error().message);
    out = domain_to_query(std::move(r.value()));
    return Flow::Ok;
  }

  // The client's address is among `name`'s A (or AAAA) records, within the prefix.
  Flow addresses_match(const std::string& name, unsigned cidr4, unsigned cidr6, bool& matched,
                       Mode mode = Mode::Strict) {
    const DnsReply* reply = nullptr;
    const DnsType type = in_.client.is_v4 ? DnsType::A : DnsType::Aaaa;
    if (Flow f = lookup(type, name, reply, mode); f != Flow::Ok) return f;
    for (const auto& text : reply->records) {
      auto ip = net::IpAddress::parse(text);
      if (ip && prefix_matches(*ip, in_.client, in_.client.is_v4 ? cidr4 : cidr6)) {
        matched = true;
        return Flow::Ok;
      }
    }
    return Flow::Ok;
  }

  Flow target(const Mechanism& m, const std::string& domain, std::string& out) {
    if (m.domain_spec.empty()) {
      out = domain;
      return Flow::Ok;
    }
    return expand(m.domain_spec, domain, out);
  }

  Flow match(const Mechanism& m, const std::string& domain, size_t depth, bool& matched) {
    std::string name;
    switch (m.kind) {
      case MechanismKind::All: matched = true; return Flow::Ok;
      case MechanismKind::Ip4:
      case MechanismKind::Ip6:
        matched = prefix_matches(m.network, in_.client, m.kind == MechanismKind::Ip4 ? m.cidr4 : m.cidr6);
        return Flow::Ok;
      default: break;
    }
    if (Flow f = count_dns_term(); f != Flow::Ok) return f;
    if (Flow f = target(m, domain, name); f != Flow::Ok) return f;
    switch (m.kind) {
      case MechanismKind::Include: {
        SpfResult inner;
        if (Flow f = check_host(name, depth + 1, inner); f != Flow::Ok) return f;
        if (inner.verdict == SpfVerdict::None) return perm(concat("included domain ", quoted(name), " has no SPF record"));
        matched = inner.verdict == SpfVerdict::Pass;
        return Flow::Ok;
      }
      case MechanismKind::A: return addresses_match(name, m.cidr4, m.cidr6, matched);
      case MechanismKind::Mx: {
        const DnsReply* mx = nullptr;
        if (Flow f = lookup(DnsType::Mx, name, mx); f != Flow::Ok) return f;
        if (mx->records.size() > limits::kMaxMxNames)
          return perm(concat(quoted(name), " has more than ", std::to_string(limits::kMaxMxNames), " MX records"));
        for (const auto& host : mx->records) {
          if (host.empty()) continue;  // null MX
          if (Flow f = addresses_match(host, m.cidr4, m.cidr6, matched); f != Flow::Ok || matched) return f;
        }
        return Flow::Ok;
      }
      case MechanismKind::Ptr: {
        std::vector<std::string> names;
        if (Flow f = validated_names(names); f != Flow::Ok) return f;
        for (const auto& n : names) matched = matched || within(n, name);
        return Flow::Ok;
      }
      case MechanismKind::Exists: {
        const DnsReply* a = nullptr;
        if (Flow f = lookup(DnsType::A, name, a); f != Flow::Ok) return f;
        matched = a->status == DnsStatus::Ok && !a->records.empty();
        return Flow::Ok;
      }
      default: return Flow::Ok;
    }
  }

  // check_host(<ip>, <domain>, <sender>): result.verdict, and what decided.
  Flow check_host(const std::string& domain, size_t depth, SpfResult& result) {
    if (depth > limits::kMaxDepth) return perm("include/redirect nested too deeply");
    result.verdict = SpfVerdict::None;
    result.mechanism.clear();
    if (!is_valid_lookup_name(domain) || domain.find('.') == std::string::npos) {
      result.reason = concat(quoted(domain), " is not a valid domain name");
      return Flow::Ok;
    }
    const DnsReply* txt = nullptr;
    if (Flow f = lookup(DnsType::Txt, domain, txt); f != Flow::Ok) return f;
    const std::string* text = nullptr;
    for (const auto& r : txt->records) {
      if (!is_spf_record(r)) continue;
      if (text) return perm(concat(quoted(domain), " has more than one SPF record"));
      text = &r;
    }
    if (!text) {
      result.reason = concat(quoted(domain), " has no SPF record");
      return Flow::Ok;
    }
    auto record = parse_record(*text);
    if (!record) return perm(concat("SPF record of ", quoted(domain), ": ", record.error().message));

    for (const auto& m : record->mechanisms) {
      bool matched = false;
      if (Flow f = match(m, domain, depth, matched); f != Flow::Ok) return f;
      if (matched) {
        result.verdict = verdict_of(m.qualifier);
        result.mechanism = m.text;
        result.reason = concat(quoted(domain), " matched ", m.text);
        return Flow::Ok;
      }
    }
    if (record->redirect) {
      if (Flow f = count_dns_term(); f != Flow::Ok) return f;
      std::string name;
      if (Flow f = expand(*record->redirect, domain, name); f != Flow::Ok) return f;
      if (Flow f = check_host(name, depth + 1, result); f != Flow::Ok) return f;
      if (result.verdict == SpfVerdict::None)
        return perm(concat("redirect target ", quoted(name), " has no SPF record"));
      return Flow::Ok;
    }
    result.verdict = SpfVerdict::Neutral;
    result.reason = concat(quoted(domain), ": no mechanism matched");
    return Flow::Ok;
  }

  const SpfInputs& in_;
  const std::string& sender_;
  const std::string& local_;
  const std::map<DnsQuestion, DnsReply>& answers_;
  size_t dns_terms_ = 0, voids_ = 0, queries_ = 0;
  std::optional<DnsQuestion> pending_;
  SpfVerdict error_ = SpfVerdict::PermError;
  std::string reason_;
};

}  // namespace

const char* verdict_name(SpfVerdict v) {
  switch (v) {
    case SpfVerdict::None: return "none";
    case SpfVerdict::Neutral: return "neutral";
    case SpfVerdict::Pass: return "pass";
    case SpfVerdict::Fail: return "fail";
    case SpfVerdict::SoftFail: return "softfail";
    case SpfVerdict::TempError: return "temperror";
    case SpfVerdict::PermError: return "permerror";
  }
  return "?";
}

const char* dns_type_name(DnsType t) {
  switch (t) {
    case DnsType::Txt: return "TXT";
    case DnsType::A: return "A";
    case DnsType::Aaaa: return "AAAA";
    case DnsType::Mx: return "MX";
    case DnsType::Ptr: return "PTR";
  }
  return "?";
}

SpfEvaluator::SpfEvaluator(SpfInputs inputs) : in_(std::move(inputs)) {
  // RFC 7208 2.4 and 4.3: an empty MAIL FROM is checked as postmaster@HELO;
  // a missing local-part is "postmaster".
  sender_ = in_.mail_from.empty() ? "postmaster@" + in_.helo : in_.mail_from;
  const size_t at = sender_.rfind('@');
  local_ = at == std::string::npos ? "" : sender_.substr(0, at);
  domain_ = at == std::string::npos ? sender_ : sender_.substr(at + 1);
  if (local_.empty()) {
    local_ = "postmaster";
    sender_ = "postmaster@" + domain_;
  }
  if (!domain_.empty() && domain_.back() == '.') domain_.pop_back();
}

std::variant<DnsQuestion, SpfResult> SpfEvaluator::next() {
  Replay replay(in_, sender_, local_, answers_);
  return replay.run(domain_);
}

void SpfEvaluator::answer(const DnsQuestion& question, DnsReply reply) { answers_[question] = std::move(reply); }

}  // namespace volley::spf
