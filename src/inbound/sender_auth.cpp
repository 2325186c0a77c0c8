// See sender_auth.hpp. Every lookup is started at once: the SPF checks as
// coroutines of their own (check_spf), the DKIM keys and the DMARC policy
// (at the From domain and, speculatively, at its organizational domain) as
// TXT queries. One timer, set to the deadline, is cancelled when the last
// answer is in; what has not answered by then is a temperror. Answers that
// arrive later land in the shared Gather and are ignored.
#include "inbound/sender_auth.hpp"

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <random>

#include "dkim/header_fields.hpp"
#include "dkim/signature.hpp"
#include "dkim/tag_list.hpp"
#include "dkim/verifier.hpp"
#include "dmarc/from_domain.hpp"
#include "dmarc/policy_discovery.hpp"
#include "spf/check_spf.hpp"
#include "util/strings.hpp"

namespace volley::inbound {
namespace {

using delivery::DnsStatus;
using delivery::TxtAnswer;

// What is in flight for one message. Shared with the resolver callbacks and
// the spawned SPF checks, which may finish after the deadline.
struct Gather {
  explicit Gather(const asio::any_io_executor& ex) : wake(ex) {}
  asio::steady_timer wake;
  size_t outstanding = 0;
  std::optional<spf::SpfResult> spf_mailfrom, spf_helo;
  std::vector<std::optional<TxtAnswer>> keys;
  std::optional<TxtAnswer> dmarc_at_from, dmarc_at_org;
  void done() {
    if (outstanding > 0 && --outstanding == 0) wake.cancel();
  }
};

template <class Store>
void ask_txt(delivery::Resolver& resolver, const std::string& name, const std::shared_ptr<Gather>& g, Store store) {
  ++g->outstanding;
  resolver.query_txt(name, [g, store](TxtAnswer a) {
    store(*g, std::move(a));
    g->done();
  });
}

void spawn_spf(delivery::Resolver& resolver, spf::SpfInputs in, std::chrono::milliseconds timeout,
               const std::shared_ptr<Gather>& g, std::optional<spf::SpfResult> Gather::*slot) {
  ++g->outstanding;
  asio::co_spawn(g->wake.get_executor(), spf::check_spf(resolver, std::move(in), timeout),
                 [g, slot](std::exception_ptr e, spf::SpfResult r) {
                   if (e) {  // check_spf does not throw for DNS trouble; anything else is not a pass either
                     r = {};
                     r.verdict = spf::SpfVerdict::TempError;
                     r.reason = "SPF check failed";
                   }
                   (*g).*slot = std::move(r);
                   g->done();
                 });
}

TxtAnswer unanswered(std::chrono::milliseconds timeout) {
  return {DnsStatus::TempFail, {}, "no answer within " + std::to_string(timeout.count()) + " ms"};
}

spf::SpfResult spf_or_timeout(const std::optional<spf::SpfResult>& r, std::chrono::milliseconds timeout) {
  if (r) return *r;
  spf::SpfResult t;
  t.verdict = spf::SpfVerdict::TempError;
  t.reason = "SPF check timed out (" + std::to_string(timeout.count()) + " ms)";
  return t;
}

// A HELO name worth an SPF check of its own: a domain, not an address literal.
bool checkable_helo(const std::string& helo) {
  return helo.find('.') != std::string::npos && dkim::valid_dns_name(helo);
}

// ---- DKIM ----

DkimCheck describe(const dkim::FoundSignature& found) {
  DkimCheck c;
  c.domain = found.domain;
  c.selector = found.selector;
  if (!found.parsed) {
    c.result = "permerror";
    c.reason = found.parsed.error().message;
    return c;
  }
  const dkim::ParsedSignature& sig = found.parsed.value();
  c.algorithm = dkim::algorithm_name(sig.algorithm);
  // RFC 6008: enough of b= to tell signatures apart; 8 characters as most verifiers write.
  std::string b = dkim::strip_fws(std::string_view(sig.raw_field).substr(sig.b_value_begin, sig.b_value_end - sig.b_value_begin));
  c.b_prefix = b.substr(0, 8);
  return c;
}

std::string key_name(const dkim::ParsedSignature& sig) { return sig.selector + "._domainkey." + sig.domain; }

void verify_with_key(DkimCheck& c, const dkim::ParsedSignature& sig, const TxtAnswer& key, std::string_view header_block,
                     const std::string& body_hash, int64_t now_unix) {
  switch (key.status) {
    case DnsStatus::TempFail:
      c.result = "temperror";
      c.reason = concat("key lookup at ", key_name(sig), " failed: ", key.detail);
      return;
    case DnsStatus::NxDomain:
    case DnsStatus::NoRecords:
      c.result = "permerror";
      c.reason = concat("no key record at ", key_name(sig));
      return;
    case DnsStatus::Ok:
      break;
  }
  if (key.records.empty()) {
    c.result = "permerror";
    c.reason = concat("no key record at ", key_name(sig));
    return;
  }
  // Several TXT records at a key name: RFC 6376 3.6.2.2 leaves it to the
  // verifier; we use the first, as OpenDKIM does.
  dkim::VerifyResult v = dkim::verify(sig, header_block, body_hash, key.records.front(), now_unix);
  c.testing = v.testing;
  c.result = dkim::verify_status_name(v.status);
  c.reason = v.reason;
  // RFC 6376 3.6.1 t=y: the signer is testing; a failure must be treated as
  // if the message were unsigned, so it is reported neutral and counts for nothing.
  if (v.testing && v.status != dkim::VerifyStatus::Pass) {
    c.result = "neutral";
    c.reason = concat("testing key: ", v.reason);
  }
}

// ---- DMARC ----

size_t count_from_fields(std::string_view header_block) {
  size_t n = 0;
  for (const auto& f : dkim::split_header_fields(header_block))
    if (iequals(f.name, "from")) ++n;
  return n;
}

bool several_from_domains(std::string_view header_block) {
  auto all = dmarc::from_domains(header_block);
  if (!all) return false;
  for (const auto& d : *all)
    if (d != all->front()) return true;
  return false;
}

unsigned draw_sample(const SenderAuthOptions& options) {
  if (options.sample) return options.sample() % 100;
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_int_distribution<unsigned>(0, 99)(rng);
}

}  // namespace

asio::awaitable<SenderAuthOutcome> check_sender_auth(delivery::Resolver& resolver, const config::InboundSection& cfg,
                                                     const dmarc::PublicSuffixList& psl, SenderAuthInput input,
                                                     const Clock& clock, SenderAuthOptions options) {
  const auto executor = co_await asio::this_coro::executor;
  auto g = std::make_shared<Gather>(executor);
  g->wake.expires_after(options.timeout);
  SenderAuthOutcome out;
  SenderAuthResults& r = out.results;

  // SPF: the MAIL FROM identity, and the HELO identity (RFC 7208 2.3); for
  // the null sender the HELO check is the MAIL FROM check (2.4).
  const bool null_sender = input.mail_from.empty();
  if (cfg.spf) {
    spf::SpfInputs in{input.client, input.helo, input.mail_from, input.authserv_id};
    if (!null_sender) spawn_spf(resolver, in, options.timeout, g, &Gather::spf_mailfrom);
    if (null_sender || checkable_helo(input.helo)) {
      in.mail_from.clear();
      spawn_spf(resolver, std::move(in), options.timeout, g, &Gather::spf_helo);
    }
  }

  // DKIM: every signature's key.
  std::vector<dkim::FoundSignature> signatures;
  if (cfg.dkim_verify) {
    r.dkim_checked = true;
    signatures = dkim::find_signatures(input.header_block);
    g->keys.resize(signatures.size());
    for (size_t i = 0; i < signatures.size(); ++i)
      if (signatures[i].parsed)
        ask_txt(resolver, key_name(signatures[i].parsed.value()), g,
                [i](Gather& gg, TxtAnswer a) { gg.keys[i] = std::move(a); });
  }

  // DMARC: the policy at the From domain and at its organizational domain,
  // asked together (the second is needed whenever the first has none).
  DmarcCheck& dm = r.dmarc;
  std::string org_domain;
  if (cfg.dmarc != config::DmarcMode::Off) {
    dm.evaluated = true;
    auto from = dmarc::from_domain(input.header_block);
    if (!from) {
      dm.ambiguous_from = count_from_fields(input.header_block) > 1 || several_from_domains(input.header_block);
      dm.evaluation.result = dmarc::DmarcResult::PermError;
      dm.evaluation.reason = from.error().message;
    } else if (!dkim::valid_dns_name(*from)) {
      dm.evaluation.result = dmarc::DmarcResult::PermError;
      dm.evaluation.reason = concat("From domain ", quoted(*from, 80), " is not a DNS name");
    } else {
      dm.from_domain = *from;
      org_domain = psl.organizational_domain(dm.from_domain);
      ask_txt(resolver, "_dmarc." + dm.from_domain, g, [](Gather& gg, TxtAnswer a) { gg.dmarc_at_from = std::move(a); });
      if (!org_domain.empty() && org_domain != dm.from_domain)
        ask_txt(resolver, "_dmarc." + org_domain, g, [](Gather& gg, TxtAnswer a) { gg.dmarc_at_org = std::move(a); });
    }
  }

  while (g->outstanding > 0) {
    std::error_code ec;  // operation_aborted: the last answer came
    co_await g->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) break;  // the deadline
  }

  if (cfg.spf && !null_sender)
    r.spf_mailfrom = SpfCheck{input.mail_from, spf_or_timeout(g->spf_mailfrom, options.timeout)};
  if (cfg.spf && (null_sender || checkable_helo(input.helo)))
    r.spf_helo = SpfCheck{input.helo, spf_or_timeout(g->spf_helo, options.timeout)};

  if (r.dkim_checked) {
    std::optional<DkimBodyHashes> own;
    const DkimBodyHashes* hashes = input.body_hashes;
    if (!hashes) hashes = &own.emplace(body_hashes_of(signatures, input.message, dkim::body_offset(input.message)));
    const int64_t now = clock.unix_seconds();
    for (size_t i = 0; i < signatures.size(); ++i) {
      DkimCheck c = describe(signatures[i]);
      if (signatures[i].parsed) {
        const dkim::ParsedSignature& sig = signatures[i].parsed.value();
        verify_with_key(c, sig, g->keys[i].value_or(unanswered(options.timeout)), input.header_block,
                        hashes->body_hash(sig), now);
      }
      r.dkim.push_back(std::move(c));
    }
  }

  if (dm.evaluated && !dm.from_domain.empty()) {
    dmarc::PolicyLookup lookup =
        dmarc::discover_policy(dm.from_domain, g->dmarc_at_from.value_or(unanswered(options.timeout)), org_domain,
                               g->dmarc_at_org.value_or(unanswered(options.timeout)));
    if (lookup.kind == dmarc::PolicyLookup::Kind::TempFail)
      lookup.detail = concat("_dmarc.", lookup.domain, ": ", lookup.detail);
    dmarc::AuthenticatedIdentifiers ids;
    ids.from_domain = dm.from_domain;
    // RFC 7489 4.1: SPF's authenticated identifier is the MAIL FROM domain,
    // or the HELO domain when MAIL FROM is null.
    const std::optional<SpfCheck>& spf_used = null_sender ? r.spf_helo : r.spf_mailfrom;
    if (spf_used && spf_used->result.verdict == spf::SpfVerdict::Pass) {
      ids.spf_pass = true;
      ids.spf_domain = spf_used->result.domain;
    }
    for (const auto& c : r.dkim)
      if (c.result == "pass") ids.dkim_pass_domains.push_back(c.domain);
    dm.evaluation = dmarc::evaluate(ids, lookup, psl, draw_sample(options));
  }

  out.decision = decide(r, cfg.dmarc);
  out.authentication_results = authentication_results_header(input.authserv_id, method_results(r, out.decision));
  out.log_summary = log_summary(r, out.decision);
  co_return out;
}

}  // namespace volley::inbound
