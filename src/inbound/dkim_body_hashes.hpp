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
#include "inbound/limits.hpp"

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

// For a message that streams to a body file: fed the message from its first
// byte in chunks split anywhere, it keeps the header section (through the
// empty line that ends it) and, from there on, feeds the body to the
// DkimBodyHashes of the signatures in that header section. Holds at most
// `max_header_bytes` of header; a longer header section is cut there
// (header_too_long(): the caller decides; the checks would see only the part kept).
class DkimMessageStream {
 public:
  explicit DkimMessageStream(size_t max_header_bytes = kMaxStreamedHeaderBytes) : max_header_(max_header_bytes) {}

  void feed(std::string_view bytes);
  // The message ended; a message without an empty line is all header.
  void finish();

  bool header_complete() const { return hashes_.has_value(); }
  bool header_too_long() const { return too_long_; }
  // The header section, with the empty line after it when there was one.
  const std::string& header_block() const { return header_; }
  // Null until the header section ended (or finish()); finished after finish().
  const DkimBodyHashes* hashes() const { return hashes_ ? &*hashes_ : nullptr; }

 private:
  void header_ended();

  size_t max_header_;
  std::string header_;
  bool too_long_ = false;
  bool at_line_start_ = true;  // the next byte starts a line
  bool cr_line_ = false;       // the line so far is a lone CR
  std::optional<DkimBodyHashes> hashes_;
};

}  // namespace volley::inbound
