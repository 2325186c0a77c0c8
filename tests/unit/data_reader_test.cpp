#include "smtp/data_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/strings.hpp"

namespace volley::smtp {
namespace {

constexpr size_t kAll = std::string::npos;

struct Outcome {
  size_t consumed = 0;
  bool done = false;
  Verdict verdict = Verdict::Ok;
  uint64_t size = 0;
  std::string body;
};

// Feeds `input` in pieces ending at each of `cuts` (then the rest). Until
// the reader is done it must take every byte it is given.
Outcome read_data(std::string_view input, ContentLimits limits, const std::vector<size_t>& cuts) {
  DataReader reader(limits);
  Outcome out;
  size_t start = 0;
  auto feed_to = [&](size_t end) {
    if (reader.done() || end <= start) return;
    const std::string_view piece = input.substr(start, end - start);
    const size_t n = reader.feed(piece);
    EXPECT_TRUE(reader.done() || n == piece.size());
    EXPECT_LE(n, piece.size());
    out.consumed += n;
    start = end;
  };
  for (size_t cut : cuts) feed_to(cut);
  feed_to(input.size());
  if (reader.done()) {
    EXPECT_EQ(reader.feed("more"), 0u);  // the rest belongs to the command parser
  }
  out.done = reader.done();
  out.verdict = reader.verdict();
  out.size = reader.size();
  out.body = reader.take_body();
  return out;
}

std::vector<size_t> every_byte(size_t n) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < n; ++i) cuts.push_back(i);
  return cuts;
}

void expect_same(const Outcome& got, const Outcome& want, const std::string& how) {
  SCOPED_TRACE(how);
  EXPECT_EQ(got.consumed, want.consumed);
  EXPECT_EQ(got.done, want.done);
  EXPECT_EQ(got.verdict, want.verdict);
  EXPECT_EQ(got.size, want.size);
  EXPECT_EQ(got.body, want.body);
}

// The expectation is checked whole, byte by byte, and at every single split.
void check_all_splits(std::string_view input, ContentLimits limits, const Outcome& want) {
  expect_same(read_data(input, limits, {}), want, "whole");
  expect_same(read_data(input, limits, every_byte(input.size())), want, "byte by byte");
  for (size_t cut = 1; cut < input.size(); ++cut)
    expect_same(read_data(input, limits, {cut}), want, "split at " + std::to_string(cut));
}

// -------------------------------------------------------------- DATA table

struct DataCase {
  std::string name;
  std::string input;
  ContentLimits limits;
  bool done;
  size_t consumed;  // kAll = the whole input
  Verdict verdict;
  std::string body;  // only when verdict is Ok
  uint64_t size;     // kAll = body.size()
};

void PrintTo(const DataCase& c, std::ostream* os) { *os << c.name; }

class DataTable : public ::testing::TestWithParam<DataCase> {};

TEST_P(DataTable, AnySplitGivesTheSameResult) {
  const DataCase& c = GetParam();
  Outcome want;
  want.consumed = c.consumed == kAll ? c.input.size() : c.consumed;
  want.done = c.done;
  want.verdict = c.verdict;
  want.body = c.verdict == Verdict::Ok ? c.body : "";
  want.size = c.size == kAll ? c.body.size() : c.size;
  check_all_splits(c.input, c.limits, want);
}

constexpr ContentLimits kNoLimits{};
constexpr ContentLimits kBig{1 << 20, 998};
constexpr auto kOk = Verdict::Ok;
constexpr auto kBareCr = Verdict::BareCarriageReturn;

INSTANTIATE_TEST_SUITE_P(
    Table, DataTable,
    ::testing::Values(
        DataCase{"EmptyBody", ".\r\n", kBig, true, kAll, kOk, "", kAll},
        DataCase{"EmptyBodyThenPipelined", ".\r\nQUIT\r\n", kBig, true, 3, kOk, "", kAll},
        DataCase{"OneBlankLine", "\r\n.\r\n", kBig, true, kAll, kOk, "\r\n", kAll},
        DataCase{"Simple", "Subject: x\r\n\r\nhello\r\n.\r\n", kBig, true, kAll, kOk, "Subject: x\r\n\r\nhello\r\n",
                 kAll},
        DataCase{"Pipelined", "a\r\n.\r\nMAIL FROM:<a@b>\r\n", kBig, true, 6, kOk, "a\r\n", kAll},
        DataCase{"NoLimits", "a\r\n.\r\n", kNoLimits, true, kAll, kOk, "a\r\n", kAll},
        DataCase{"StuffedDotLine", "a\r\n..\r\n.\r\n", kBig, true, kAll, kOk, "a\r\n.\r\n", kAll},
        DataCase{"StuffedFirstLine", "..foo\r\n.\r\n", kBig, true, kAll, kOk, ".foo\r\n", kAll},
        DataCase{"TripleDot", "a\r\n...\r\n.\r\n", kBig, true, kAll, kOk, "a\r\n..\r\n", kAll},
        DataCase{"UnstuffedSingleDot", "a\r\n.b\r\n.\r\n", kBig, true, kAll, kOk, "a\r\nb\r\n", kAll},
        DataCase{"DotNotAtLineStart", "a.\r\n.\r\n", kBig, true, kAll, kOk, "a.\r\n", kAll},
        DataCase{"DotSpaceIsNotMarker", "a\r\n. \r\n.\r\n", kBig, true, kAll, kOk, "a\r\n \r\n", kAll},
        DataCase{"Incomplete", "hello\r\nwor", kBig, false, kAll, kOk, "hello\r\nwor", kAll},
        DataCase{"IncompleteMarker", "a\r\n.\r", kBig, false, kAll, kOk, "a\r\n", kAll},
        DataCase{"IncompleteCr", "a\r", kBig, false, kAll, kOk, "a", kAll},
        DataCase{"BareLfNormalised", "a\nb\r\n.\r\n", kBig, true, kAll, kOk, "a\r\nb\r\n", kAll},
        DataCase{"BareLfBeforeDotCrlf", "a\nb\n.\r\n.\r\n", kBig, true, kAll, kOk, "a\r\nb\r\n\r\n", kAll},
        DataCase{"BareLfStuffedDot", "a\n..x\r\n.\r\n", kBig, true, kAll, kOk, "a\r\n.x\r\n", kAll},
        DataCase{"Nul", std::string("a\0b\r\n.\r\n", 8), kBig, true, kAll, Verdict::NulByte, "", 5},
        DataCase{"BareCr", "a\rb\r\n.\r\n", kBig, true, kAll, kBareCr, "", 5},
        DataCase{"CrCrLf", "a\r\r\n.\r\n", kBig, true, kAll, kBareCr, "", 4},
        DataCase{"FirstProblemWins", std::string("a\rb\0c\r\n.\r\n", 10), kBig, true, kAll, kBareCr, "", 7},
        DataCase{"NulBeforeCr", std::string("\0\rx\r\n.\r\n", 8), kBig, true, kAll, Verdict::NulByte, "", 5},
        DataCase{"SizeAtLimit", "123\r\n.\r\n", {5, 0}, true, kAll, kOk, "123\r\n", kAll},
        DataCase{"SizeOverByCrlf", "1234\r\n.\r\n", {5, 0}, true, kAll, Verdict::TooBig, "", 6},
        DataCase{"SizeKeepsCounting", "12345678\r\n.\r\n", {5, 0}, true, kAll, Verdict::TooBig, "", 10},
        DataCase{"TooBigNotStuffed", "..\r\n.\r\n", {3, 0}, true, kAll, kOk, ".\r\n", kAll},
        DataCase{"LineAtLimit", "abc\r\n.\r\n", {0, 3}, true, kAll, kOk, "abc\r\n", kAll},
        DataCase{"LineTooLong", "abcd\r\n.\r\n", {0, 3}, true, kAll, Verdict::LineTooLong, "", 6},
        DataCase{"LineCountsUnstuffed", "..bc\r\n.\r\n", {0, 3}, true, kAll, kOk, ".bc\r\n", kAll},
        DataCase{"LineResetsAfterBareLf", "abc\nabc\r\n.\r\n", {0, 3}, true, kAll, kOk, "abc\r\nabc\r\n", kAll},
        DataCase{"LineBeforeSize", "abcd\r\n.\r\n", {10, 3}, true, kAll, Verdict::LineTooLong, "", 6},
        DataCase{"SizeBeforeLine", "abcd\r\n.\r\n", {3, 10}, true, kAll, Verdict::TooBig, "", 6},
        DataCase{"SameByteIsTooBig", "abcd\r\n.\r\n", {3, 3}, true, kAll, Verdict::TooBig, "", 6},
        DataCase{"TooBigBeforeBareCr", "abc\rd\r\n.\r\n", {2, 0}, true, kAll, Verdict::TooBig, "", 7},
        DataCase{"BareCrBeforeTooBig", "a\rbcd\r\n.\r\n", {2, 0}, true, kAll, kBareCr, "", 7}));

// ------------------------------------------------------ SMTP smuggling table

// Each sequence is a would-be end of data that is not <CRLF>.<CRLF>; what
// follows looks like a second transaction. The reader must treat all of it as
// content, stop only at the real marker, and leave "QUIT\r\n" to the caller.
struct SmuggleCase {
  std::string name;
  std::string sequence;
  Verdict verdict;
};

void PrintTo(const SmuggleCase& c, std::ostream* os) { *os << c.name; }

class Smuggling : public ::testing::TestWithParam<SmuggleCase> {};

const std::string kHead = "Subject: t\r\n\r\nx";
const std::string kSmuggled = "MAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nDATA\r\nsmuggled\r\n.\r\n";
const std::string kAfter = "QUIT\r\n";

TEST_P(Smuggling, OnlyTheRealMarkerEndsData) {
  const SmuggleCase& c = GetParam();
  const std::string input = kHead + c.sequence + kSmuggled + kAfter;
  Outcome want;
  want.consumed = input.size() - kAfter.size();
  want.done = true;
  want.verdict = c.verdict;
  if (c.verdict == Verdict::Ok) {
    // The fake marker became an empty line; the smuggled commands are content.
    want.body = kHead + "\r\n\r\n" + kSmuggled.substr(0, kSmuggled.size() - 3);
    want.size = want.body.size();
  } else {
    want.size = read_data(input, kNoLimits, {}).size;  // counted, checked for split independence
  }
  check_all_splits(input, kNoLimits, want);
}

INSTANTIATE_TEST_SUITE_P(Table, Smuggling,
                         ::testing::Values(SmuggleCase{"LfDotLf", "\n.\n", Verdict::Ok},
                                           SmuggleCase{"LfDotCrLf", "\n.\r\n", Verdict::Ok},
                                           SmuggleCase{"CrLfDotLf", "\r\n.\n", Verdict::Ok},
                                           SmuggleCase{"CrDotCr", "\r.\r", kBareCr},
                                           SmuggleCase{"CrLfDotCr", "\r\n.\r", kBareCr},
                                           SmuggleCase{"CrCrLf", "\r\r\n", kBareCr},
                                           SmuggleCase{"CrLfDotCrCrLf", "\r\n.\r\r\n", kBareCr}));

TEST(Smuggling, RealMarkerEndsEarly) {
  // Control: with a genuine <CRLF>.<CRLF> the rest is left as commands.
  const std::string input = kHead + "\r\n.\r\n" + kSmuggled;
  Outcome want;
  want.consumed = kHead.size() + 5;
  want.done = true;
  want.body = kHead + "\r\n";
  want.size = want.body.size();
  check_all_splits(input, kNoLimits, want);
}

TEST(DataReader, TakeBodyMovesItOut) {
  DataReader reader(kBig);
  EXPECT_EQ(reader.feed("ab\r\n.\r\n"), 7u);
  EXPECT_EQ(reader.take_body(), "ab\r\n");
  EXPECT_EQ(reader.take_body(), "");
  EXPECT_EQ(reader.size(), 4u);
}

TEST(DataReader, LargeBodyIsStoredWhole) {
  std::string input;
  for (int i = 0; i < 10000; ++i) input += (i % 7 == 0 ? ".line " : "line ") + std::to_string(i) + "\r\n";
  const std::string body = [&] {
    std::string b;
    for (int i = 0; i < 10000; ++i) b += (i % 7 == 0 ? "line " : "line ") + std::to_string(i) + "\r\n";
    return b;
  }();
  input += ".\r\n";
  DataReader reader({0, 0});
  EXPECT_EQ(reader.feed(input), input.size());
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.take_body(), body);
}

// ----------------------------------------------------------- BDAT chunks

struct ChunkCase {
  std::string name;
  std::vector<std::string> chunks;
  ContentLimits limits;
  Verdict verdict;   // after finish()
  std::string body;  // only when verdict is Ok
  uint64_t size;     // kAll = body.size()
};

void PrintTo(const ChunkCase& c, std::ostream* os) { *os << c.name; }

Outcome read_chunks(const std::vector<std::string>& chunks, ContentLimits limits, bool bytewise) {
  ChunkReader reader(limits);
  for (const auto& chunk : chunks) {
    reader.begin_chunk(chunk.size());
    if (bytewise) {
      for (char c : chunk) EXPECT_EQ(reader.feed(std::string_view(&c, 1)), 1u);
    } else {
      EXPECT_EQ(reader.feed(chunk + "NEXT COMMAND"), chunk.size());
    }
    EXPECT_TRUE(reader.chunk_done());
  }
  reader.finish();
  Outcome out;
  out.verdict = reader.verdict();
  out.size = reader.size();
  out.body = reader.take_body();
  return out;
}

class ChunkTable : public ::testing::TestWithParam<ChunkCase> {};

TEST_P(ChunkTable, AnyChunkingGivesTheSameResult) {
  const ChunkCase& c = GetParam();
  Outcome want;
  want.verdict = c.verdict;
  want.body = c.verdict == Verdict::Ok ? c.body : "";
  want.size = c.size == kAll ? c.body.size() : c.size;
  std::string joined;
  for (const auto& chunk : c.chunks) joined += chunk;
  std::vector<std::string> single_bytes;
  for (char ch : joined) single_bytes.emplace_back(1, ch);
  expect_same(read_chunks(c.chunks, c.limits, false), want, "as given");
  expect_same(read_chunks(c.chunks, c.limits, true), want, "byte by byte");
  expect_same(read_chunks({joined}, c.limits, false), want, "one chunk");
  expect_same(read_chunks(single_bytes, c.limits, false), want, "one-byte chunks");
}

INSTANTIATE_TEST_SUITE_P(
    Table, ChunkTable,
    ::testing::Values(ChunkCase{"Simple", {"abc\r\n"}, kBig, kOk, "abc\r\n", kAll},
                      ChunkCase{"NoTrailingCrlf", {"abc"}, kBig, kOk, "abc", kAll},
                      ChunkCase{"CrlfAcrossChunks", {"abc\r", "\ndef"}, kBig, kOk, "abc\r\ndef", kAll},
                      ChunkCase{"BareLfNormalised", {"abc\n", "x\n"}, kBig, kOk, "abc\r\nx\r\n", kAll},
                      ChunkCase{"EmptyChunk", {"", "abc", ""}, kBig, kOk, "abc", kAll},
                      ChunkCase{"DotsAreData", {".\r\n", "..\r\n"}, kBig, kOk, ".\r\n..\r\n", kAll},
                      ChunkCase{"MarkerIsData", {"\r\n.\r\n"}, kBig, kOk, "\r\n.\r\n", kAll},
                      ChunkCase{"BareCrMid", {"a\rb"}, kBig, kBareCr, "", 3},
                      ChunkCase{"TrailingCr", {"abc\r"}, kBig, kBareCr, "", 4},
                      ChunkCase{"CrThenText", {"abc\r", "x"}, kBig, kBareCr, "", 5},
                      ChunkCase{"CrCrLf", {"abc\r", "\r\n"}, kBig, kBareCr, "", 6},
                      ChunkCase{"Nul", {std::string("a\0", 2)}, kBig, Verdict::NulByte, "", 2},
                      ChunkCase{"TooBig", {"ab\r\n", "c"}, {4, 0}, Verdict::TooBig, "", 5},
                      ChunkCase{"LineTooLong", {"ab", "c"}, {0, 2}, Verdict::LineTooLong, "", 3},
                      ChunkCase{"LineResets", {"ab\r", "\nab"}, {0, 2}, kOk, "ab\r\nab", kAll}));

TEST(ChunkReader, FeedStopsAtChunkEnd) {
  ChunkReader reader(kBig);
  reader.begin_chunk(3);
  EXPECT_EQ(reader.feed("abcdef"), 3u);
  EXPECT_TRUE(reader.chunk_done());
  EXPECT_EQ(reader.feed("def"), 0u);
  reader.begin_chunk(2);
  EXPECT_FALSE(reader.chunk_done());
  EXPECT_EQ(reader.feed("d"), 1u);
  EXPECT_EQ(reader.feed("ef"), 1u);
  reader.finish();
  EXPECT_EQ(reader.take_body(), "abcde");
}

}  // namespace
}  // namespace volley::smtp

namespace volley::smtp {
namespace {

// Large messages: the session takes the content out each time the reader
// holds ContentLimits::hold_limit bytes. Whatever the split of the input,
// the pieces join to exactly what an unbounded reader stores, and the buffer
// never grows past the limit plus what one feed() added (a bare LF counts
// twice: it is stored as CRLF).
TEST(DataReaderHoldLimit, PiecesJoinToTheSameBodyAndTheBufferStaysBounded) {
  std::string wire = "Subject: x\r\n\r\n";
  for (int i = 0; i < 3000; ++i)
    wire += (i % 7 == 0 ? ".." : "") + std::string(static_cast<size_t>(i % 90), 'a' + i % 26) + (i % 11 ? "\r\n" : "\n");
  wire += "\r\n.\r\n";
  DataReader unbounded(ContentLimits{0, 0, 0});
  ASSERT_EQ(unbounded.feed(wire), wire.size());
  const std::string expected = unbounded.take_body();
  constexpr uint64_t kLimit = 1000;
  for (size_t step : {1, 7, 100, 4096}) {
    SCOPED_TRACE("feeds of " + std::to_string(step));
    DataReader r(ContentLimits{0, 0, kLimit});
    std::string joined;
    size_t at = 0, pieces = 0;
    while (!r.done()) {
      at += r.feed(std::string_view(wire).substr(at, step));
      EXPECT_LE(r.held_capacity(), kLimit + 2 * step);
      if (r.held() >= kLimit) {
        joined += r.take_body();
        ++pieces;
      }
    }
    joined += r.take_body();
    EXPECT_EQ(at, wire.size());
    EXPECT_GT(pieces, 10u);
    EXPECT_TRUE(joined == expected);
  }
}

}  // namespace
}  // namespace volley::smtp
