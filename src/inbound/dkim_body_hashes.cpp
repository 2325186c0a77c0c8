#include "inbound/dkim_body_hashes.hpp"

namespace volley::inbound {

DkimBodyHashes::DkimBodyHashes(const std::vector<dkim::FoundSignature>& signatures) {
  for (const auto& found : signatures) {
    if (!found.parsed) continue;
    const dkim::ParsedSignature& sig = found.parsed.value();
    bool shared = false;
    for (const auto& e : entries_)
      if (e.canon == sig.body_canon && e.limit == sig.body_length) shared = true;
    if (!shared) entries_.push_back(Entry{sig.body_canon, sig.body_length, dkim::BodyHasher(sig.body_canon, sig.body_length), {}});
  }
}

void DkimBodyHashes::feed(std::string_view bytes) {
  if (finished_) return;
  for (auto& e : entries_) e.hasher.feed(bytes);
}

void DkimBodyHashes::finish() {
  if (finished_) return;
  finished_ = true;
  for (auto& e : entries_) e.hash = e.hasher.finish();
}

std::string DkimBodyHashes::body_hash(const dkim::ParsedSignature& sig) const {
  for (const auto& e : entries_)
    if (e.canon == sig.body_canon && e.limit == sig.body_length) return e.hash;
  return {};
}

DkimBodyHashes body_hashes_of(const std::vector<dkim::FoundSignature>& signatures, std::string_view message,
                              size_t body_offset) {
  DkimBodyHashes hashes(signatures);
  if (body_offset < message.size()) hashes.feed(message.substr(body_offset));
  hashes.finish();
  return hashes;
}

void DkimMessageStream::header_ended() { hashes_.emplace(dkim::find_signatures(header_)); }

// The header section ends with the first empty line, "\r\n" or "\n" (as
// dkim::body_offset reads a message in memory).
void DkimMessageStream::feed(std::string_view bytes) {
  size_t i = 0;
  for (; !hashes_ && i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (header_.size() < max_header_) header_.push_back(c);
    else too_long_ = true;
    if (c == '\n') {
      if (at_line_start_ || cr_line_) header_ended();
      at_line_start_ = true;
      cr_line_ = false;
    } else {
      cr_line_ = c == '\r' && at_line_start_;
      at_line_start_ = false;
    }
  }
  if (hashes_ && i < bytes.size()) hashes_->feed(bytes.substr(i));
}

void DkimMessageStream::finish() {
  if (!hashes_) header_ended();
  hashes_->finish();
}

}  // namespace volley::inbound
