#include "inbound/dkim_signing.hpp"

#include <algorithm>
#include <ctime>

#include "dkim/body_hasher.hpp"
#include "dkim/signer.hpp"
#include "dmarc/from_domain.hpp"
#include "util/log.hpp"

namespace volley::inbound {
namespace {

class SigningJob final : public smtp::ContentSigner::Job {
 public:
  SigningJob(std::vector<const DkimSigningEntry*> entries, std::string header_block)
      : entries_(std::move(entries)), header_block_(std::move(header_block)), hasher_(dkim::Canon::Relaxed) {}

  void body(std::string_view bytes) override { hasher_.feed(bytes); }

  Result<std::string> finish() override {
    const std::string bh = hasher_.finish();
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    std::string fields;
    for (const DkimSigningEntry* e : entries_) {
      auto field = dkim::sign(*e->key, e->domain, e->selector, header_block_, bh, now);
      if (!field) return field.error();
      fields += field.value();
    }
    return fields;
  }

 private:
  std::vector<const DkimSigningEntry*> entries_;
  std::string header_block_;
  dkim::BodyHasher hasher_;
};

}  // namespace

Result<std::vector<DkimSigningEntry>> load_dkim_keys(const std::vector<config::DkimKey>& configured,
                                                     const std::vector<DkimSigningEntry>& loaded) {
  std::vector<DkimSigningEntry> out;
  for (const config::DkimKey& k : configured) {
    auto algorithm = dkim::parse_algorithm(k.algorithm);
    if (!algorithm) return make_error("dkim key " + k.key + ": unknown algorithm " + k.algorithm);
    DkimSigningEntry e{k.domain, k.selector, k.key, nullptr};
    for (const DkimSigningEntry& old : loaded)
      if (old.key_path == k.key && old.key->algorithm == *algorithm) e.key = old.key;
    if (!e.key) {
      auto key = dkim::load_signing_key(k.key, *algorithm);
      if (!key) return make_error("[[dkim]] " + k.domain + " selector " + k.selector + ": " + key.error().message);
      e.key = std::move(key.value());
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string_view closest_signing_domain(std::string_view from_domain,
                                        const std::function<bool(std::string_view)>& has_entries) {
  for (std::string_view d = from_domain; !d.empty();) {
    if (has_entries(d)) return d;
    const size_t dot = d.find('.');
    if (dot == std::string_view::npos) break;
    d.remove_prefix(dot + 1);
  }
  return {};
}

std::vector<const DkimSigningEntry*> DkimSigning::entries_for(std::string_view from_domain) const {
  auto has_entries = [this](std::string_view d) {
    return std::any_of(entries_.begin(), entries_.end(), [d](const DkimSigningEntry& e) { return e.domain == d; });
  };
  const std::string_view domain = closest_signing_domain(from_domain, has_entries);
  std::vector<const DkimSigningEntry*> found;
  if (domain.empty()) return found;
  for (const DkimSigningEntry& e : entries_)
    if (e.domain == domain) found.push_back(&e);
  return found;
}

std::unique_ptr<smtp::ContentSigner::Job> DkimSigning::begin(std::string_view header_block) const {
  if (entries_.empty()) return nullptr;
  // One From domain (several addresses in one domain are fine); a message
  // with no From, several From fields or mixed domains is sent unsigned:
  // receivers' DMARC treats it as unauthenticated whatever we sign.
  auto from = dmarc::from_domain(header_block);
  if (!from) {
    log::debug("dkim.not_signed").kv("reason", from.error().message);
    return nullptr;
  }
  auto entries = entries_for(from.value());
  if (entries.empty()) return nullptr;
  return std::make_unique<SigningJob>(std::move(entries), std::string(header_block));
}

}  // namespace volley::inbound
