// DKIM canonicalization (RFC 6376 3.4): header fields and the streaming body
// hasher, including chunked feeding at every split point.
#include <gtest/gtest.h>

#include <string>

#include "dkim/body_hasher.hpp"
#include "dkim/canonicalize.hpp"
#include "dkim/header_fields.hpp"
#include "dkim/signing_key.hpp"
#include "util/base64.hpp"

namespace volley::dkim {
namespace {

std::string hash_of(std::string_view canonical) { return base64_encode(sha256(canonical)); }

std::string one_shot(Canon c, std::string_view body, std::optional<uint64_t> limit = std::nullopt) {
  BodyHasher h(c, limit);
  h.feed(body);
  return h.finish();
}

struct HeaderCanonCase {
  std::string name;
  std::string raw;
  std::string relaxed;
};
void PrintTo(const HeaderCanonCase& c, std::ostream* os) { *os << c.name; }
class HeaderCanon : public ::testing::TestWithParam<HeaderCanonCase> {};

TEST_P(HeaderCanon, RelaxedAndSimple) {
  const auto& c = GetParam();
  EXPECT_EQ(canonicalize_header(c.raw, Canon::Relaxed), c.relaxed);
  EXPECT_EQ(canonicalize_header(c.raw, Canon::Simple), c.raw);  // simple changes nothing
}

INSTANTIATE_TEST_SUITE_P(
    Dkim, HeaderCanon,
    ::testing::Values(
        // RFC 6376 3.4.6
        HeaderCanonCase{"Rfc6376ExampleA", "A: X\r\n", "a:X\r\n"},
        HeaderCanonCase{"Rfc6376ExampleB", "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n"},
        HeaderCanonCase{"Folded", "Subject: a\r\n  long\r\n\tsubject\r\n", "subject:a long subject\r\n"},
        HeaderCanonCase{"TrailingWhitespace", "To: bob@x.org \t \r\n", "to:bob@x.org\r\n"},
        HeaderCanonCase{"EmptyValue", "X-Empty:\r\n", "x-empty:\r\n"},
        HeaderCanonCase{"EmptyValueWithSpaces", "X-Empty:   \r\n", "x-empty:\r\n"},
        HeaderCanonCase{"EightBitKept", "Subject: caf\xc3\xa9  ol\xe9\r\n", "subject:caf\xc3\xa9 ol\xe9\r\n"},
        HeaderCanonCase{"BareCrKept", "X: a\rb\r\n", "x:a\rb\r\n"},
        HeaderCanonCase{"InnerColons", "Date : Mon, 1 Jan 2024 10:00:00\r\n", "date:Mon, 1 Jan 2024 10:00:00\r\n"}));

TEST(DkimHeaderFields, SplitsFoldedFieldsAndStopsAtBody) {
  std::string block = "From: a@x.org\r\nSubject: one\r\n two\r\nTo : b@y.org\r\n\r\nBody: not a header\r\n";
  auto fields = split_header_fields(block);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[1].name, "Subject");
  EXPECT_EQ(fields[1].raw, "Subject: one\r\n two\r\n");
  EXPECT_EQ(fields[2].name, "To");
  EXPECT_EQ(body_offset(block), block.find("Body:"));
}

struct BodyCase {
  std::string name;
  std::string body;
  std::string simple;   // canonical form
  std::string relaxed;  // canonical form
};
void PrintTo(const BodyCase& c, std::ostream* os) { *os << c.name; }
class BodyCanon : public ::testing::TestWithParam<BodyCase> {};

TEST_P(BodyCanon, OneShot) {
  const auto& c = GetParam();
  EXPECT_EQ(one_shot(Canon::Simple, c.body), hash_of(c.simple));
  EXPECT_EQ(one_shot(Canon::Relaxed, c.body), hash_of(c.relaxed));
}

// Split at every point into two chunks, and byte by byte: always the same
// hash as one-shot (a CRLF or a whitespace run cut in two must not matter).
TEST_P(BodyCanon, EverySplitPoint) {
  const auto& c = GetParam();
  for (Canon canon : {Canon::Simple, Canon::Relaxed}) {
    const std::string expected = one_shot(canon, c.body);
    for (size_t cut = 0; cut <= c.body.size(); ++cut) {
      BodyHasher h(canon);
      h.feed(std::string_view(c.body).substr(0, cut));
      h.feed(std::string_view(c.body).substr(cut));
      EXPECT_EQ(h.finish(), expected) << canon_name(canon) << " cut at " << cut;
    }
    BodyHasher bytes(canon);
    for (char ch : c.body) bytes.feed(std::string_view(&ch, 1));
    EXPECT_EQ(bytes.finish(), expected) << canon_name(canon) << " byte by byte";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Dkim, BodyCanon,
    ::testing::Values(
        // RFC 6376 3.4.6
        BodyCase{"Rfc6376Example", " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n"},
        // Relaxed: an empty body hashes as ""; simple as one CRLF.
        BodyCase{"Empty", "", "\r\n", ""},
        BodyCase{"CrlfOnly", "\r\n\r\n\r\n", "\r\n", ""},
        BodyCase{"NoFinalCrlf", "abc", "abc\r\n", "abc\r\n"},
        BodyCase{"TrailingWhitespace", "a  \r\nb\t\r\n", "a  \r\nb\t\r\n", "a\r\nb\r\n"},
        BodyCase{"WhitespaceOnlyLinesAtEnd", "a\r\n  \r\n\t\r\n", "a\r\n  \r\n\t\r\n", "a\r\n"},
        BodyCase{"InnerEmptyLinesKept", "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n"},
        BodyCase{"LeadingDot", ".\r\n..x\r\n. y\r\n", ".\r\n..x\r\n. y\r\n", ".\r\n..x\r\n. y\r\n"},
        BodyCase{"EightBit", "caf\xc3\xa9 \xff\r\n", "caf\xc3\xa9 \xff\r\n", "caf\xc3\xa9 \xff\r\n"},
        BodyCase{"BareCrAndLf", "a\rb\nc\r\n", "a\rb\nc\r\n", "a\rb\nc\r\n"},
        BodyCase{"TrailingCr", "a\r", "a\r\r\n", "a\r\r\n"},
        BodyCase{"LeadingWhitespaceReduced", "   a\r\n", "   a\r\n", " a\r\n"}));

TEST(DkimBodyHasher, KnownHashes) {
  // Published values: the empty body (RFC 6376 3.4.3/3.4.4 and errata 3192)
  // and RFC 6376 Appendix A's body.
  EXPECT_EQ(one_shot(Canon::Relaxed, ""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(one_shot(Canon::Simple, ""), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  const std::string body = "Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n";
  EXPECT_EQ(one_shot(Canon::Simple, body), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  // RFC 8463 Appendix A: the same body with two spaces, relaxed.
  const std::string two_spaces = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";
  EXPECT_EQ(one_shot(Canon::Relaxed, two_spaces), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
}

TEST(DkimBodyHasher, LengthLimitHashesOnlyThePrefix) {
  EXPECT_EQ(one_shot(Canon::Simple, "abc\r\ndef\r\n", 5), hash_of("abc\r\n"));
  EXPECT_EQ(one_shot(Canon::Relaxed, "a  b\r\nzzz\r\n", 3), hash_of("a b"));
  EXPECT_EQ(one_shot(Canon::Simple, "", 0), hash_of(""));
  BodyHasher h(Canon::Simple, 4);
  h.feed("abcdefgh\r\n");
  (void)h.finish();
  EXPECT_EQ(h.hashed_bytes(), 4u);
}

TEST(DkimBodyHasher, LargeBodyStreamsInLines) {
  // 4 MB in 1000-byte lines, fed line by line and in 64 KB blocks.
  std::string line(998, 'x');
  line += "\r\n";
  std::string all;
  BodyHasher by_line(Canon::Relaxed);
  for (int i = 0; i < 4000; ++i) {
    by_line.feed(line);
    all += line;
  }
  BodyHasher by_block(Canon::Relaxed);
  for (size_t pos = 0; pos < all.size(); pos += 65536) by_block.feed(std::string_view(all).substr(pos, 65536));
  std::string expected = hash_of(all);
  EXPECT_EQ(by_line.finish(), expected);
  EXPECT_EQ(by_block.finish(), expected);
}

}  // namespace
}  // namespace volley::dkim
