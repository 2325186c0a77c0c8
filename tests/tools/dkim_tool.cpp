// Test-only driver of src/dkim for interoperability tests (tests/e2e/
// test_dkim_interop.py) against an independent implementation (python3-dkim):
//   volley_dkim_tool sign KEY.pem rsa|ed25519 DOMAIN SELECTOR < message > signed
//   volley_dkim_tool verify RECORD_FILE < message
// sign prepends our DKIM-Signature field to the message (body hashed by the
// streaming BodyHasher in 7-byte chunks, to exercise chunk boundaries).
// verify prints one line per signature, "<status> <d> <reason>", and exits 0
// only when every signature passes.
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "dkim/body_hasher.hpp"
#include "dkim/header_fields.hpp"
#include "dkim/signer.hpp"
#include "dkim/verifier.hpp"

namespace {

using namespace volley::dkim;

std::string hash_body(Canon canon, std::optional<uint64_t> limit, std::string_view body) {
  BodyHasher h(canon, limit);
  for (size_t pos = 0; pos < body.size(); pos += 7) h.feed(body.substr(pos, 7));
  return h.finish();
}

int usage() {
  std::cerr << "usage: volley_dkim_tool sign KEY.pem rsa|ed25519 DOMAIN SELECTOR | verify RECORD_FILE\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string message((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  const size_t body_at = body_offset(message);
  std::string_view headers = std::string_view(message).substr(0, body_at);
  std::string_view body = std::string_view(message).substr(body_at);
  const std::string cmd = argv[1];
  if (cmd == "sign" && argc == 6) {
    Algorithm alg = std::string(argv[3]) == "ed25519" ? Algorithm::Ed25519Sha256 : Algorithm::RsaSha256;
    auto key = load_signing_key(argv[2], alg);
    if (!key) {
      std::cerr << key.error().message << "\n";
      return 1;
    }
    auto field = sign(*key.value(), argv[4], argv[5], headers, hash_body(Canon::Relaxed, std::nullopt, body),
                      static_cast<int64_t>(std::time(nullptr)));
    if (!field) {
      std::cerr << field.error().message << "\n";
      return 1;
    }
    std::cout << field.value() << message;
    return 0;
  }
  if (cmd == "verify" && argc == 3) {
    std::ifstream in(argv[2]);
    std::string record((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto found = find_signatures(headers);
    bool all_pass = !found.empty();
    for (const auto& f : found) {
      if (!f.parsed) {
        std::cout << "permerror " << f.domain << " " << f.parsed.error().message << "\n";
        all_pass = false;
        continue;
      }
      const auto& sig = f.parsed.value();
      auto r = verify(sig, headers, hash_body(sig.body_canon, sig.body_length, body), record,
                      static_cast<int64_t>(std::time(nullptr)));
      std::cout << verify_status_name(r.status) << " " << sig.domain << " " << r.reason << "\n";
      all_pass = all_pass && r.status == VerifyStatus::Pass;
    }
    if (found.empty()) std::cout << "none\n";
    return all_pass ? 0 : 1;
  }
  return usage();
}
