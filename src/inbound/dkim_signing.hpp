// The intake's DKIM signer (issue 10): the [[dkim]] keys, loaded once, and
// the choice of which of them sign a message (those of its From domain, or
// of the closest parent domain that has keys; every one of them, so a
// domain with an RSA and an Ed25519 key gets both signatures, RFC 8463 6).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "dkim/signing_key.hpp"
#include "smtp/session.hpp"
#include "util/result.hpp"

namespace volley::inbound {

struct DkimSigningEntry {
  std::string domain;    // lowercased
  std::string selector;
  std::string key_path;  // as configured, to reuse a key across reloads
  std::shared_ptr<const dkim::SigningKey> key;
};

// Loads every [[dkim]] key. `loaded` holds keys read earlier (at start, while
// the process could still read root-only files): an entry with the same path
// and algorithm reuses that key instead of reading the file again. Fails
// naming the file of the first key that cannot be read or is unusable.
Result<std::vector<DkimSigningEntry>> load_dkim_keys(const std::vector<config::DkimKey>& configured,
                                                     const std::vector<DkimSigningEntry>& loaded = {});

// The one rule for which [[dkim]] domain signs mail From `from_domain`:
// the domain itself if `has_entries` says it has entries, else its closest
// parent that has; "" when none. The view is a suffix of `from_domain`.
// Shared by the signer and `volley doctor`, which must agree.
std::string_view closest_signing_domain(std::string_view from_domain,
                                        const std::function<bool(std::string_view)>& has_entries);

class DkimSigning final : public smtp::ContentSigner {
 public:
  explicit DkimSigning(std::vector<DkimSigningEntry> entries) : entries_(std::move(entries)) {}
  std::unique_ptr<Job> begin(std::string_view header_block) const override;
  // The entries that sign mail from `from_domain` (lowercased): its own, or
  // those of the closest parent domain that has any. Empty: not signed.
  std::vector<const DkimSigningEntry*> entries_for(std::string_view from_domain) const;

 private:
  std::vector<DkimSigningEntry> entries_;
};

}  // namespace volley::inbound
