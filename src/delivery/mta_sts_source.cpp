#include "delivery/mta_sts_source.hpp"

#include <asio/post.hpp>

#include "delivery/limits.hpp"
#include "mta_sts/fetch.hpp"
#include "util/log.hpp"

namespace volley::delivery {

MtaStsSource::MtaStsSource(Resolver& resolver, const Clock& clock, asio::any_io_executor io,
                           std::unique_ptr<mta_sts::PolicyCache> cache)
    : resolver_(resolver),
      clock_(clock),
      io_(std::move(io)),
      cache_(std::move(cache)),
      fetch_pool_(limits::kMtaStsFetchThreads) {}

MtaStsSource::~MtaStsSource() {
  stopping_ = true;  // a fetch under way ends within libcurl's progress interval (about a second)
  fetch_pool_.join();
}

std::optional<mta_sts::Policy> MtaStsSource::cached(const std::string& domain) const {
  if (auto c = cache_->get(domain, clock_.unix_seconds())) return c->policy;
  return std::nullopt;
}

void MtaStsSource::policy(const std::string& domain, const config::DeliverySection& del, Done done) {
  resolver_.query_txt("_mta-sts." + domain, [this, domain, del, done = std::move(done)](TxtAnswer txt) mutable {
    on_txt(domain, del, std::move(txt), std::move(done));
  });
}

void MtaStsSource::on_txt(const std::string& domain, const config::DeliverySection& del, TxtAnswer txt, Done done) {
  std::optional<mta_sts::StsRecord> record;
  if (txt.status == DnsStatus::Ok) record = mta_sts::select_sts_record(txt.records);
  const auto c = cache_->get(domain, clock_.unix_seconds());
  // No (usable) record: the cached policy stays in force until it expires
  // (RFC 8461 5.1: removing the record does not remove the policy).
  if (!record) return done(c ? std::optional(c->policy) : std::nullopt);
  if (c && c->id == record->id) return done(c->policy);
  auto [it, fresh] = fetching_.try_emplace(domain);
  it->second.push_back(std::move(done));
  if (fresh) fetch(domain, record->id, del);
}

void MtaStsSource::fetch(const std::string& domain, const std::string& id, const config::DeliverySection& del) {
  const std::string host = mta_sts::policy_host(domain);
  resolver_.query_addresses(host, [this, domain, id, del, host](AddressAnswer a) {
    if (a.status != DnsStatus::Ok)
      return finish_fetch(domain, id, make_error(ErrorCode::Temporary, "cannot resolve " + host + ": " + a.detail));
    mta_sts::FetchOptions opt;
    for (const auto& ip : a.addresses) {
      if (opt.addresses.size() >= limits::kMaxMtaStsAddresses) break;
      opt.addresses.push_back(ip.to_string());
    }
    opt.port = del.mta_sts_port;
    opt.timeout = limits::kMtaStsFetchTimeout;
    opt.ca_file = del.ca_file;
    opt.cancel = &stopping_;
    asio::post(fetch_pool_, [this, domain, id, opt = std::move(opt)] {
      auto body = mta_sts::fetch_policy(domain, opt);
      asio::post(io_, [this, domain, id, body = std::move(body)]() mutable { finish_fetch(domain, id, std::move(body)); });
    });
  });
}

void MtaStsSource::finish_fetch(const std::string& domain, const std::string& id, Result<std::string> body) {
  std::optional<mta_sts::Policy> result;
  std::string failure;
  if (!body) {
    failure = body.error().message;
  } else if (auto p = mta_sts::parse_policy(*body); !p) {
    failure = "policy does not parse: " + p.error().message;
  } else {
    result = *p;
    mta_sts::CachedPolicy entry{*p, id, clock_.unix_seconds(), clock_.unix_seconds() + p->max_age};
    if (auto r = cache_->put(domain, entry); !r)
      log::warn("mta_sts.cache_failed").kv("domain", domain).kv("error", r.error().message);
    log::info("mta_sts.policy")
        .kv("domain", domain)
        .kv("id", id)
        .kv("mode", mta_sts::mode_name(p->mode))
        .kv("max_age", static_cast<uint64_t>(p->max_age));
  }
  if (!result) {
    // RFC 8461 3.3/5.1: keep using an unexpired cached policy; without one,
    // deliver as if the domain had none.
    result = cached(domain);
    log::warn("mta_sts.fetch_failed")
        .kv("domain", domain)
        .kv("error", failure)
        .kv("using", result ? "cached policy" : "no policy");
  }
  auto waiters = std::move(fetching_[domain]);
  fetching_.erase(domain);
  for (auto& w : waiters) w(result);
}

}  // namespace volley::delivery
