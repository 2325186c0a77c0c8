// The DKIM-Signature header field (RFC 6376 3.5, RFC 8463): parsed and
// checked into a struct. Every failure is a PERMERROR with a reason (RFC
// 6376 6.1.1); the verifier reports it per signature.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/canonicalize.hpp"
#include "util/result.hpp"

namespace volley::dkim {

enum class Algorithm { RsaSha256, Ed25519Sha256 };

const char* algorithm_name(Algorithm a);  // "rsa-sha256" / "ed25519-sha256"
std::optional<Algorithm> parse_algorithm(std::string_view name);

struct ParsedSignature {
  std::string raw_field;  // the whole field as in the message, for hashing
  Algorithm algorithm = Algorithm::RsaSha256;
  Canon header_canon = Canon::Simple;
  Canon body_canon = Canon::Simple;
  std::string domain;       // d=, lowercased
  std::string selector;     // s=, as written
  std::string identity;     // i=, default "@" + d
  std::vector<std::string> signed_headers;  // h=, lowercased, in order
  std::string body_hash_b64;  // bh= without white space
  std::string signature;      // b= decoded
  std::optional<uint64_t> body_length;  // l=
  std::optional<int64_t> timestamp;     // t=
  std::optional<int64_t> expiration;    // x=
  // [begin, end) of b='s value inside raw_field: blanked for hashing.
  size_t b_value_begin = 0;
  size_t b_value_end = 0;
};

// Whether `name` can be a d= domain or s= selector (and so a key's file
// name and DNS name): dot-separated labels of letters, digits, "-" and "_".
bool valid_dns_name(std::string_view name);

// Parses one raw "DKIM-Signature: ..." field (name, value, folds, CRLF).
Result<ParsedSignature> parse_signature(std::string_view raw_field);

// A DKIM-Signature found in a header block: parsed, or why not (permerror),
// with d= and s= when at least those were readable (for the report).
struct FoundSignature {
  Result<ParsedSignature> parsed;
  std::string domain;
  std::string selector;
};

// Every DKIM-Signature field of `header_block`, top to bottom, at most
// kMaxSignaturesPerMessage.
std::vector<FoundSignature> find_signatures(std::string_view header_block);

}  // namespace volley::dkim
