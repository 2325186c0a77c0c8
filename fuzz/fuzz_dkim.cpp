// libFuzzer target: the DKIM parsers and canonicalizers (src/dkim).
//  1. parse_tag_list: bounded, names well-formed, no duplicates, values are
//     views into the input.
//  2. parse_signature / find_signatures / parse_key_record: never crash; a
//     parsed signature's invariants hold (h= has from, b= range inside the
//     field); verify() with a fixed key record returns without crashing.
//  3. canonicalize_header: relaxed output is one line, and idempotent.
//  4. BodyHasher: the same hash whether fed at once, cut at a fuzzer-chosen
//     point, or in 3-byte chunks, and equal to a whole-body reference
//     canonicalizer written here; l= hashes a prefix of it.
#include <cstdint>
#include <string>
#include <string_view>

#include "dkim/body_hasher.hpp"
#include "dkim/canonicalize.hpp"
#include "dkim/header_fields.hpp"
#include "dkim/key_record.hpp"
#include "dkim/limits.hpp"
#include "dkim/signature.hpp"
#include "dkim/signing_key.hpp"
#include "dkim/tag_list.hpp"
#include "dkim/verifier.hpp"
#include "inbound/dkim_body_hashes.hpp"
#include "util/base64.hpp"

#include "fuzz_check.hpp"

namespace {

using namespace volley::dkim;

// RFC 6376 3.4.3 / 3.4.4 over the whole body at once: the obvious way.
std::string reference_body(std::string_view body, Canon canon) {
  std::vector<std::string> lines;
  std::string cur;
  bool open = false;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n') {
      lines.push_back(cur);
      cur.clear();
      open = false;
      ++i;
    } else {
      cur.push_back(body[i]);
      open = true;
    }
  }
  if (open) lines.push_back(cur);
  if (canon == Canon::Relaxed) {
    for (auto& l : lines) {
      std::string out;
      bool wsp = false;
      for (char c : l) {
        if (c == ' ' || c == '\t') {
          wsp = true;
          continue;
        }
        if (wsp) out.push_back(' ');
        wsp = false;
        out.push_back(c);
      }
      l = out;
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const auto& l : lines) out += l + "\r\n";
  if (out.empty() && canon == Canon::Simple) out = "\r\n";
  return out;
}

std::string hash_chunks(std::string_view body, Canon canon, size_t chunk) {
  BodyHasher h(canon);
  for (size_t pos = 0; pos < body.size(); pos += chunk) h.feed(body.substr(pos, chunk));
  return h.finish();
}

const std::string kRecord = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // 1. Tag lists.
  if (auto tags = parse_tag_list(in)) {
    CHECK(tags->tags.size() <= kMaxTags);
    for (size_t i = 0; i < tags->tags.size(); ++i) {
      const Tag& t = tags->tags[i];
      CHECK(!t.name.empty());
      CHECK(t.value.size() <= kMaxTagValueBytes);
      CHECK(t.value.data() >= in.data() && t.value.data() + t.value.size() <= in.data() + in.size());
      for (size_t j = 0; j < i; ++j) CHECK(tags->tags[j].name != t.name);
    }
  }

  // 2. Signatures and key records.
  std::string field = "DKIM-Signature: " + std::string(in) + "\r\n";
  if (auto sig = parse_signature(field)) {
    bool from = false;
    for (const auto& h : sig->signed_headers) from = from || h == "from";
    CHECK(from);
    CHECK(sig->b_value_begin <= sig->b_value_end && sig->b_value_end <= sig->raw_field.size());
    CHECK(!sig->signature.empty());
    auto r = verify(sig.value(), "From: a@b.c\r\n", sig->body_hash_b64, kRecord, 0);
    CHECK(r.status != VerifyStatus::Pass || r.reason.empty());
  }
  (void)parse_key_record(in);
  for (const auto& f : find_signatures(in)) {
    if (f.parsed) (void)verify(f.parsed.value(), in, f.parsed->body_hash_b64, kRecord, 0);
  }

  // 3. Header canonicalization.
  for (const auto& f : split_header_fields(in)) {
    std::string relaxed = canonicalize_header(f.raw, Canon::Relaxed);
    CHECK(canonicalize_header(relaxed, Canon::Relaxed) == relaxed);
    std::string_view body = relaxed;
    if (body.ends_with("\r\n")) body.remove_suffix(2);
    CHECK(body.find("\r\n") == std::string_view::npos);
    CHECK(canonicalize_header(f.raw, Canon::Simple) == f.raw);
  }

  // 4. Streaming body hash.
  const size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  for (Canon canon : {Canon::Simple, Canon::Relaxed}) {
    std::string reference = reference_body(in, canon);
    std::string expected = volley::base64_encode(sha256(reference));
    CHECK(hash_chunks(in, canon, in.size() + 1) == expected);
    CHECK(hash_chunks(in, canon, 3) == expected);
    BodyHasher split(canon);
    split.feed(in.substr(0, cut));
    split.feed(in.substr(cut));
    CHECK(split.finish() == expected);
    BodyHasher limited(canon, cut);
    limited.feed(in);
    CHECK(limited.finish() == volley::base64_encode(sha256(reference.substr(0, cut))));
  }

  // 5. The inbound stream splitter finds the header section where
  // body_offset does, wherever the bytes are cut.
  volley::inbound::DkimMessageStream whole, two;
  whole.feed(in);
  whole.finish();
  CHECK(whole.header_block() == in.substr(0, body_offset(in)));
  two.feed(in.substr(0, cut));
  two.feed(in.substr(cut));
  two.finish();
  CHECK(two.header_block() == whole.header_block());
  return 0;
}
