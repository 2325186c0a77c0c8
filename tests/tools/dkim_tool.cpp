// Test-only driver of src/dkim for interoperability tests (tests/e2e/
// test_dkim_interop.py) against an independent implementation (python3-dkim):
//   volley_dkim_tool sign KEY.pem rsa|ed25519 DOMAIN SELECTOR < message > signed
//   volley_dkim_tool verify RECORD_FILE < message
//   volley_dkim_tool bench-verify N < message
// sign prepends our DKIM-Signature field to the message (body hashed by the
// streaming BodyHasher in 7-byte chunks, to exercise chunk boundaries).
// verify prints one line per signature, "<status> <d> <reason>", and exits 0
// only when every signature passes.
// bench-verify (bench/dkim_signing) isolates the per-message cost of DKIM
// without DNS or I/O: for rsa-sha256 (2048-bit) and ed25519-sha256 it makes a
// key in memory, signs the message once, then times N rounds each of signing
// (body hash + header hash + signature) and of verifying the signed message
// the way the inbound checks do (find the field, parse it, body hash, parse
// the key record, header hash, signature check), and prints one line per
// algorithm: "ALG sign_us X verify_us Y body_hash_us Z n N" (CPU time of this
// thread per message, so other processes on the machine do not inflate it).
#include <time.h>

#include <cstdlib>
#include <ctime>
#include <functional>
#include <iomanip>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "dkim/body_hasher.hpp"
#include "dkim/header_fields.hpp"
#include "dkim/keygen.hpp"
#include "dkim/signer.hpp"
#include "dkim/verifier.hpp"

namespace {

using namespace volley::dkim;

// `chunk`: 7 for the interop tests (chunk boundaries everywhere); the whole
// body at once for bench-verify (as a network read of a 4 KB message is).
std::string hash_body(Canon canon, std::optional<uint64_t> limit, std::string_view body, size_t chunk = 7) {
  BodyHasher h(canon, limit);
  for (size_t pos = 0; pos < body.size(); pos += chunk) h.feed(body.substr(pos, chunk));
  return h.finish();
}

int usage() {
  std::cerr << "usage: volley_dkim_tool sign KEY.pem rsa|ed25519 DOMAIN SELECTOR | verify RECORD_FILE"
               " | bench-verify N\n";
  return 2;
}

// "rsa-sha256 example pass" style lines for every signature of `message`;
// true when there is at least one and all pass.
bool verify_all(std::string_view message, std::string_view record, std::ostream* out, size_t chunk = 7) {
  const size_t body_at = body_offset(message);
  std::string_view headers = message.substr(0, body_at);
  std::string_view body = message.substr(body_at);
  auto found = find_signatures(headers);
  bool all_pass = !found.empty();
  for (const auto& f : found) {
    if (!f.parsed) {
      if (out) *out << "permerror " << f.domain << " " << f.parsed.error().message << "\n";
      all_pass = false;
      continue;
    }
    const auto& sig = f.parsed.value();
    auto r = verify(sig, headers, hash_body(sig.body_canon, sig.body_length, body, chunk), record,
                    static_cast<int64_t>(std::time(nullptr)));
    if (out) *out << verify_status_name(r.status) << " " << sig.domain << " " << r.reason << "\n";
    all_pass = all_pass && r.status == VerifyStatus::Pass;
  }
  if (found.empty() && out) *out << "none\n";
  return all_pass;
}

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// CPU microseconds per call of `fn` over `n` calls.
double time_per_call(long n, const std::function<void()>& fn) {
  const double t0 = thread_cpu_us();
  for (long i = 0; i < n; ++i) fn();
  return (thread_cpu_us() - t0) / static_cast<double>(n);
}

int bench_verify(long n, const std::string& message) {
  const size_t body_at = body_offset(message);
  std::string_view headers = std::string_view(message).substr(0, body_at);
  std::string_view body = std::string_view(message).substr(body_at);
  const size_t whole = body.size() + 1;  // one feed, as one network read of a 4 KB message
  for (Algorithm alg : {Algorithm::RsaSha256, Algorithm::Ed25519Sha256}) {
    auto key = generate_key(alg, 2048);
    if (!key) {
      std::cerr << key.error().message << "\n";
      return 1;
    }
    auto record = key_record_text(*key.value());
    if (!record) {
      std::cerr << record.error().message << "\n";
      return 1;
    }
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    auto sign_once = [&] {
      return sign(*key.value(), "bench.test", "s1", headers, hash_body(Canon::Relaxed, std::nullopt, body, whole), now);
    };
    auto field = sign_once();
    if (!field) {
      std::cerr << field.error().message << "\n";
      return 1;
    }
    const std::string signed_message = field.value() + message;
    std::ostringstream why;
    if (!verify_all(signed_message, record.value(), &why)) {
      std::cerr << "bench-verify: our own " << algorithm_name(alg) << " signature does not verify: " << why.str();
      return 1;
    }
    bool ok = true;
    const double body_us =
        time_per_call(n, [&] { ok = !hash_body(Canon::Relaxed, std::nullopt, body, whole).empty() && ok; });
    const double sign_us = time_per_call(n, [&] { ok = static_cast<bool>(sign_once()) && ok; });
    const double verify_us =
        time_per_call(n, [&] { ok = verify_all(signed_message, record.value(), nullptr, whole) && ok; });
    if (!ok) {
      std::cerr << "bench-verify: a timed round failed\n";
      return 1;
    }
    std::cout << std::fixed << std::setprecision(2) << algorithm_name(alg) << " sign_us " << sign_us
              << " verify_us " << verify_us << " body_hash_us " << body_us << " n " << n << "\n";
  }
  return 0;
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
    return verify_all(message, record, &std::cout) ? 0 : 1;
  }
  if (cmd == "bench-verify" && argc == 3) {
    const long n = std::strtol(argv[2], nullptr, 10);
    return n > 0 ? bench_verify(n, message) : usage();
  }
  return usage();
}
