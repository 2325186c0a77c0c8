// Streaming body canonicalization + SHA-256 (RFC 6376 3.4.3, 3.4.4, 3.7):
// fed the body in chunks of any size, split anywhere (even inside a CRLF),
// it holds only a count of pending empty lines, a pending-whitespace flag
// and a pending CR, never the body, so the intake can hash a 50 MB message
// as it streams to disk. `limit` is l=: only that many canonical bytes are
// hashed (verification of a signature with l=).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dkim/canonicalize.hpp"

namespace volley::dkim {

class BodyHasher {
 public:
  explicit BodyHasher(Canon canon, std::optional<uint64_t> limit = std::nullopt);
  ~BodyHasher();
  BodyHasher(BodyHasher&&) noexcept;
  BodyHasher& operator=(BodyHasher&&) noexcept;

  // The body's next bytes (CRLF line ends; lines are never dot-stuffed here).
  void feed(std::string_view bytes);
  // Ends the body; returns bh= (base64 of the SHA-256). Call once.
  std::string finish();
  // Canonical bytes hashed so far (after finish: in total).
  uint64_t hashed_bytes() const { return hashed_; }

 private:
  void content_byte(char c);  // a byte that is not part of a line's CRLF
  void line_end();
  void emit(std::string_view bytes);
  void flush();

  Canon canon_;
  std::optional<uint64_t> limit_;
  struct Digest;
  std::unique_ptr<Digest> digest_;
  uint64_t empty_lines_ = 0;  // CRLFs of empty lines not yet emitted (dropped if the body ends)
  bool cr_pending_ = false;   // a CR seen, not known yet to start a CRLF
  bool line_has_content_ = false;
  bool wsp_pending_ = false;  // relaxed: a WSP run inside the line, not yet emitted
  bool emitted_any_ = false;
  uint64_t hashed_ = 0;
  std::string buffer_;  // canonical bytes batched for the digest
};

}  // namespace volley::dkim
