// The body hashes the DKIM signatures of one message need, computed in one
// pass over the body however it arrives: in memory, fed chunk by chunk as
// the intake receives it, or read back from a spilled body file. Signatures
// that share a body canonicalization and l= share one BodyHasher (a= does
// not matter: rsa-sha256 and ed25519-sha256 both hash the body with
// SHA-256), so a message signed by both algorithms hashes its body once.
//
//   DkimBodyHashes hashes(signatures);   // from dkim::find_signatures(header_block)
//   hashes.feed(chunk); ...              // the body, after the empty line
//   hashes.finish();
//   hashes.body_hash(sig)                // bh= as computed, for dkim::verify
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/body_hasher.hpp"
#include "dkim/signature.hpp"

namespace volley::inbound {

class DkimBodyHashes {
 public:
  // One hasher per distinct (c= body part, l=) among the parsed signatures;
  // signatures that did not parse need none.
  explicit DkimBodyHashes(const std::vector<dkim::FoundSignature>& signatures);

  // The body's next bytes (CRLF line ends, not dot-stuffed). Ignored after finish().
  void feed(std::string_view bytes);
  // Ends the body. Call once, before body_hash().
  void finish();
  bool finished() const { return finished_; }

  // bh= of the body for `sig` (base64); "" when finish() was not called or
  // `sig` was not among the signatures given at construction.
  std::string body_hash(const dkim::ParsedSignature& sig) const;
  // Distinct hashers (for tests and the log: at most one per signature).
  size_t hasher_count() const { return entries_.size(); }

 private:
  struct Entry {
    dkim::Canon canon;
    std::optional<uint64_t> limit;
    dkim::BodyHasher hasher;
    std::string hash;
  };
  std::vector<Entry> entries_;
  bool finished_ = false;
};

// The in-memory case: `message` holds the whole message, its header block
// first; the body starts at `body_offset` (dkim::body_offset(message) when
// the caller does not know better).
DkimBodyHashes body_hashes_of(const std::vector<dkim::FoundSignature>& signatures, std::string_view message,
                              size_t body_offset);

}  // namespace volley::inbound
