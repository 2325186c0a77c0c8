// The HTTP request parser over arbitrary bytes, fed whole and again in
// pieces whose sizes come from the input. Checks: no crash/UB, never more
// consumed than given, a body never over the limit, and the same verdict
// and body however the bytes are split (a parser that decides differently
// on split input is one that can be made to see two requests in one).
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/request_parser.hpp"

#include "fuzz_check.hpp"

namespace {
using namespace volley::http;
constexpr uint64_t kMaxBody = 4096;

struct Outcome {
  RequestParser::Status status;
  ParseFailure failure;
  size_t consumed = 0;
  std::string body;
};

Outcome run(std::string_view in, size_t piece) {
  RequestParser p(kMaxBody);
  std::string buffered;
  size_t pos = 0, consumed = 0;
  while (p.status() != RequestParser::Status::Complete && p.status() != RequestParser::Status::Failed) {
    if (pos >= in.size()) break;
    const size_t n = std::min(piece, in.size() - pos);
    buffered.append(in.substr(pos, n));
    pos += n;
    for (;;) {
      const size_t used = p.feed(buffered);
      CHECK(used <= buffered.size());
      buffered.erase(0, used);
      consumed += used;
      if (used == 0 || buffered.empty() || p.status() == RequestParser::Status::Complete ||
          p.status() == RequestParser::Status::Failed)
        break;
    }
  }
  Outcome o{p.status(), p.failure(), consumed, {}};
  if (o.status == RequestParser::Status::Complete) {
    o.body = p.take_body();
    CHECK(o.body.size() <= kMaxBody);
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t piece = 1 + data[0] % 32;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Outcome whole = run(in, in.size() + 1);
  const Outcome split = run(in, piece);
  if (whole.status == RequestParser::Status::Complete) {
    CHECK(split.status == RequestParser::Status::Complete);
    CHECK(split.body == whole.body);
    CHECK(split.consumed == whole.consumed);
  }
  if (split.status == RequestParser::Status::Complete) CHECK(whole.status == RequestParser::Status::Complete);
  return 0;
}
