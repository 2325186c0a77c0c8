// libFuzzer target: DATA and BDAT content readers.
//  1. Split independence: the input fed in pieces (cut points taken from the
//     first input bytes) gives exactly the result of one feed.
//  2. A reference model, written line by line over the whole input (no
//     state machine), predicts where DATA ends, the stored body, the size
//     and the verdict; the readers must agree with it exactly.
//  3. The stored body has CRLF-only line endings, and re-sending it with
//     dot-stuffing ends exactly at our own end marker: no marker can leak.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/data_reader.hpp"

#include "fuzz_check.hpp"

namespace {


using namespace volley::smtp;

struct Outcome {
  size_t consumed = 0;
  bool done = false;
  Verdict verdict = Verdict::Ok;
  uint64_t size = 0;
  std::string body;
  bool operator==(const Outcome&) const = default;
};

// ------------------------------------------------------- reference model

// Where a problem is first detected, as an index into the content stream;
// on the same byte, the order the readers use: bare CR / NUL, TooBig, line.
struct Event {
  uint64_t at = UINT64_MAX;
  int rank = 0;
  Verdict verdict = Verdict::Ok;
};

void note(Event& first, uint64_t at, int rank, Verdict v) {
  if (at < first.at || (at == first.at && rank < first.rank)) first = Event{at, rank, v};
}

// Content between line feeds; `trailing_cr_pending` = an unterminated last
// line ends in a CR whose fate is not known yet (DATA not finished).
Outcome model_content(std::string_view content, ContentLimits limits, bool dots, bool trailing_cr_pending) {
  Outcome out;
  std::string body;
  Event first;
  for (size_t pos = 0; pos < content.size();) {
    const size_t lf = content.find('\n', pos);
    const bool terminated = lf != std::string_view::npos;
    std::string_view line = content.substr(pos, terminated ? lf - pos : std::string_view::npos);
    pos = terminated ? lf + 1 : content.size();
    if (!line.empty() && line.back() == '\r' && (terminated || trailing_cr_pending)) line.remove_suffix(1);
    if (dots && !line.empty() && line.front() == '.') line.remove_prefix(1);
    const uint64_t start = body.size();
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\r') note(first, start + i, 0, Verdict::BareCarriageReturn);
      if (line[i] == '\0') note(first, start + i, 0, Verdict::NulByte);
    }
    if (limits.max_line && line.size() > limits.max_line) note(first, start + limits.max_line, 2, Verdict::LineTooLong);
    body.append(line);
    if (terminated) body.append("\r\n");
  }
  if (limits.max_size && body.size() > limits.max_size) note(first, limits.max_size, 1, Verdict::TooBig);
  out.size = body.size();
  out.verdict = first.verdict;
  if (out.verdict == Verdict::Ok) out.body = std::move(body);
  return out;
}

// DATA: the end is the first raw "<CRLF>.<CRLF>" (or "." as the first line).
Outcome model_data(std::string_view in, ContentLimits limits) {
  size_t content_end = in.size();
  size_t consumed = in.size();
  bool done = false;
  if (in.substr(0, 3) == ".\r\n") {
    content_end = 0, consumed = 3, done = true;
  } else if (const size_t p = in.find("\r\n.\r\n"); p != std::string_view::npos) {
    content_end = p + 2, consumed = p + 5, done = true;
  }
  Outcome out = model_content(in.substr(0, content_end), limits, true, !done);
  out.consumed = consumed;
  out.done = done;
  return out;
}

// ------------------------------------------------------------ the readers

Outcome run_data(std::string_view in, ContentLimits limits, const std::vector<size_t>& pieces) {
  DataReader reader(limits);
  Outcome out;
  size_t pos = 0;
  for (size_t k = 0; pos < in.size() && !reader.done(); ++k) {
    const size_t len = k < pieces.size() ? std::min(pieces[k], in.size() - pos) : in.size() - pos;
    const size_t n = reader.feed(in.substr(pos, len));
    CHECK(n <= len);
    CHECK(reader.done() || n == len);  // takes everything until the end
    out.consumed += n;
    pos += len;
  }
  if (reader.done()) CHECK(reader.feed(in) == 0);
  out.done = reader.done();
  out.verdict = reader.verdict();
  out.size = reader.size();
  out.body = reader.take_body();
  return out;
}

Outcome run_chunks(std::string_view in, ContentLimits limits, const std::vector<size_t>& chunks,
                   const std::vector<size_t>& pieces) {
  ChunkReader reader(limits);
  size_t pos = 0;
  size_t piece = 0;
  for (size_t k = 0; pos < in.size(); ++k) {
    const size_t chunk = k < chunks.size() ? std::min(chunks[k], in.size() - pos) : in.size() - pos;
    reader.begin_chunk(chunk);
    const size_t end = pos + chunk;
    while (!reader.chunk_done()) {
      // Pieces may run past the chunk (and the last offer is the whole
      // rest of the input): the reader must stop at the chunk's end.
      const size_t offer = piece < pieces.size() ? std::max<size_t>(pieces[piece++], 1) : in.size() - pos;
      const size_t n = reader.feed(in.substr(pos, offer));
      CHECK(n == std::min(offer, end - pos));
      pos += n;
    }
    CHECK(pos == end);
  }
  reader.finish();
  Outcome out;
  out.verdict = reader.verdict();
  out.size = reader.size();
  out.body = reader.take_body();
  return out;
}

// ------------------------------------------------------------- invariants

void check_crlf_only(const std::string& body) {
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r') CHECK(i + 1 < body.size() && body[i + 1] == '\n');
    if (body[i] == '\n') CHECK(i > 0 && body[i - 1] == '\r');
    CHECK(body[i] != '\0');
  }
}

// What our own SMTP client would send: the body dot-stuffed plus ".<CRLF>".
std::string transmit(const std::string& body) {
  std::string wire;
  bool line_start = true;
  for (char c : body) {
    if (line_start && c == '.') wire.push_back('.');
    wire.push_back(c);
    line_start = c == '\n';
  }
  return wire + ".\r\n";
}

void check_retransmission(const std::string& body) {
  CHECK(body.empty() || body.size() >= 2);
  CHECK(body.empty() || body.compare(body.size() - 2, 2, "\r\n") == 0);
  const std::string wire = transmit(body);
  const size_t marker = wire.find("\r\n.\r\n");
  CHECK(wire == ".\r\n" || marker == wire.size() - 5);
  DataReader again(ContentLimits{});
  CHECK(again.feed(wire) == wire.size() && again.done());
  CHECK(again.take_body() == body);
}

// Limits and cut points come from the first bytes, so the fuzzer can steer them.
struct Plan {
  ContentLimits limits;
  std::vector<size_t> pieces;
  std::vector<size_t> chunks;
  std::string_view data;
};

Plan make_plan(std::string_view in) {
  Plan plan;
  auto take = [&]() -> unsigned {
    if (in.empty()) return 0;
    const auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    return b;
  };
  const unsigned size_byte = take();
  const unsigned line_byte = take();
  plan.limits.max_size = (size_byte & 0x80) ? 0 : (size_byte & 0x7f) * 4;
  plan.limits.max_line = (line_byte & 0x80) ? 0 : (line_byte & 0x7f);
  const unsigned counts = take();
  for (unsigned i = 0; i < (counts & 7); ++i) plan.pieces.push_back(take() % 17);
  for (unsigned i = 0; i < ((counts >> 3) & 7); ++i) plan.chunks.push_back(take() % 33);
  plan.data = in;
  return plan;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const Plan plan = make_plan(std::string_view(reinterpret_cast<const char*>(bytes), size));

  const Outcome whole = run_data(plan.data, plan.limits, {});
  CHECK(run_data(plan.data, plan.limits, plan.pieces) == whole);
  CHECK(whole == model_data(plan.data, plan.limits));
  if (whole.verdict == Verdict::Ok) {
    check_crlf_only(whole.body);
    if (whole.done) check_retransmission(whole.body);
  }

  const Outcome chunk_whole = run_chunks(plan.data, plan.limits, {}, {});
  CHECK(run_chunks(plan.data, plan.limits, plan.chunks, plan.pieces) == chunk_whole);
  CHECK(chunk_whole == model_content(plan.data, plan.limits, false, false));
  if (chunk_whole.verdict == Verdict::Ok) check_crlf_only(chunk_whole.body);
  return 0;
}
