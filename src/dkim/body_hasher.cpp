#include "dkim/body_hasher.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include "dkim/signing_key.hpp"
#include "util/base64.hpp"

namespace volley::dkim {

namespace {
// Canonical bytes collected before one EVP_DigestUpdate: per-byte updates
// would cost a function call each.
constexpr size_t kBatchBytes = 16 * 1024;
}  // namespace

struct BodyHasher::Digest {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Digest() {
    // Only allocation can fail here: a bug-level condition, not input.
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, sha256_md(), nullptr) != 1)
      throw std::runtime_error("dkim: cannot initialise SHA-256");
  }
  ~Digest() { EVP_MD_CTX_free(ctx); }
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
};

BodyHasher::BodyHasher(Canon canon, std::optional<uint64_t> limit)
    : canon_(canon), limit_(limit), digest_(std::make_unique<Digest>()) {
  buffer_.reserve(kBatchBytes);
}
BodyHasher::~BodyHasher() = default;
BodyHasher::BodyHasher(BodyHasher&&) noexcept = default;
BodyHasher& BodyHasher::operator=(BodyHasher&&) noexcept = default;

void BodyHasher::emit(std::string_view bytes) {
  if (limit_) {
    uint64_t room = *limit_ - hashed_;
    if (bytes.size() > room) bytes = bytes.substr(0, room);
  }
  if (bytes.empty()) return;
  emitted_any_ = true;
  hashed_ += bytes.size();
  if (bytes.size() >= kBatchBytes) {  // big enough on its own: no copy
    flush();
    EVP_DigestUpdate(digest_->ctx, bytes.data(), bytes.size());
    return;
  }
  buffer_.append(bytes);
  if (buffer_.size() >= kBatchBytes) flush();
}

void BodyHasher::flush() {
  if (!buffer_.empty()) EVP_DigestUpdate(digest_->ctx, buffer_.data(), buffer_.size());
  buffer_.clear();
}

void BodyHasher::content_byte(char c) {
  if (canon_ == Canon::Relaxed && (c == ' ' || c == '\t')) {
    wsp_pending_ = true;  // emitted as one SP if more content follows on this line
    return;
  }
  if (!line_has_content_) {
    // Empty lines are only dropped at the end of the body: content follows.
    for (; empty_lines_ > 0; --empty_lines_) emit("\r\n");
    line_has_content_ = true;
  }
  if (wsp_pending_) {
    emit(" ");
    wsp_pending_ = false;
  }
  char byte = c;
  emit(std::string_view(&byte, 1));
}

void BodyHasher::line_end() {
  wsp_pending_ = false;  // relaxed: WSP at the end of a line goes
  if (line_has_content_) {
    emit("\r\n");
    line_has_content_ = false;
  } else {
    ++empty_lines_;
  }
}

void BodyHasher::feed(std::string_view bytes) {
  size_t i = 0;
  if (cr_pending_ && !bytes.empty()) {
    cr_pending_ = false;
    if (bytes[0] == '\n') {
      line_end();
      i = 1;
    } else {
      content_byte('\r');
    }
  }
  const bool relaxed = canon_ == Canon::Relaxed;
  // Bytes that need a decision: CR, and for relaxed a tab or a space that
  // may start a run of WSP or end a line. A single space between other
  // bytes is its own canonical form, so text runs on over word breaks
  // instead of stopping at every space.
  auto special = [relaxed, bytes](size_t k) {
    const char c = bytes[k];
    if (c == '\r') return true;
    if (!relaxed || (c != ' ' && c != '\t')) return false;
    if (c == '\t' || k + 1 == bytes.size()) return true;
    const char next = bytes[k + 1];
    return next == ' ' || next == '\t' || next == '\r';
  };
  while (i < bytes.size()) {
    char c = bytes[i];
    if (c == '\r') {
      if (i + 1 == bytes.size()) {
        cr_pending_ = true;  // the LF may come in the next chunk
        return;
      }
      if (bytes[i + 1] == '\n') {
        line_end();
        i += 2;
        continue;
      }
    }
    // A run of bytes that need no decision is hashed as one piece: the first
    // goes through content_byte (pending empty lines and space), the rest
    // straight to the digest. Keeps a 50 MB body from costing a call per byte.
    // A run never starts with a space: content_byte holds it back as
    // pending WSP, which the raw rest of the run would skip over.
    size_t j = i + 1;
    if (!special(i) && !(relaxed && c == ' '))
      while (j < bytes.size() && !special(j)) ++j;
    content_byte(c);
    emit(bytes.substr(i + 1, j - i - 1));
    i = j;
  }
}

std::string BodyHasher::finish() {
  if (cr_pending_) {
    cr_pending_ = false;
    content_byte('\r');
  }
  // A last line without CRLF gets one (both algorithms); trailing empty
  // lines are dropped. An empty body is CRLF for simple, nothing for relaxed.
  if (line_has_content_) line_end();
  if (canon_ == Canon::Simple && !emitted_any_) emit("\r\n");
  flush();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(digest_->ctx, md, &len);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

}  // namespace volley::dkim
