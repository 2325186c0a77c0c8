#include "delivery/client_reply.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/strings.hpp"

namespace volley::delivery {
namespace {

using Status = ReplyReader::Status;

struct ReadOutcome {
  std::vector<ServerReply> replies;
  Status last = Status::NeedMore;  // status of the last call
  std::string error;
};

// Feeds `wire` in pieces of `piece` bytes (0 = all at once), collecting every
// reply, until the input is used up or an error.
ReadOutcome read_all(std::string_view wire, size_t piece = 0, ReplyReader reader = ReplyReader{}) {
  ReadOutcome out;
  size_t pos = 0;
  while (pos < wire.size()) {
    const size_t len = piece == 0 ? wire.size() - pos : std::min(piece, wire.size() - pos);
    std::string_view in = wire.substr(pos, len);
    for (;;) {
      ServerReply r;
      const size_t before = in.size();
      out.last = reader.next(in, r);
      if (out.last == Status::Ready) {
        out.replies.push_back(r);
        if (in.empty()) break;
        continue;
      }
      if (out.last == Status::NeedMore) {
        EXPECT_TRUE(in.empty());
      }
      if (out.last == Status::Error) {
        out.error = reader.error();
        EXPECT_LE(in.size(), before);
        return out;
      }
      break;
    }
    pos += len;
  }
  return out;
}

ServerReply reply(int code, std::string enhanced, std::vector<std::string> lines) {
  ServerReply r;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.lines = std::move(lines);
  return r;
}

// ---------------------------------------------------------------- well-formed

struct GoodCase {
  std::string wire;
  std::vector<ServerReply> replies;
  Status last;
};

void PrintTo(const GoodCase& c, std::ostream* os) { *os << volley::printable(c.wire); }

class ReplyReaderGood : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ReplyReaderGood, WholeAndByteByByte) {
  const GoodCase& c = GetParam();
  for (size_t piece : {size_t{0}, size_t{1}, size_t{2}, size_t{7}}) {
    SCOPED_TRACE("piece " + std::to_string(piece));
    const ReadOutcome got = read_all(c.wire, piece);
    EXPECT_EQ(got.last, c.last);
    EXPECT_EQ(got.error, "");
    ASSERT_EQ(got.replies.size(), c.replies.size());
    for (size_t i = 0; i < c.replies.size(); ++i) {
      EXPECT_EQ(got.replies[i].code, c.replies[i].code) << i;
      EXPECT_EQ(got.replies[i].enhanced, c.replies[i].enhanced) << i;
      EXPECT_EQ(got.replies[i].lines, c.replies[i].lines) << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ReplyReaderGood,
    ::testing::Values(
        GoodCase{"250 OK\r\n", {reply(250, "", {"OK"})}, Status::Ready},
        GoodCase{"220 mx.example.com ESMTP\n", {reply(220, "", {"mx.example.com ESMTP"})}, Status::Ready},
        GoodCase{"250-mx.example.com\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
                 {reply(250, "", {"mx.example.com", "PIPELINING", "SIZE 1000"})},
                 Status::Ready},
        GoodCase{"250\r\n", {reply(250, "", {""})}, Status::Ready},
        GoodCase{"250-first\r\n250\r\n", {reply(250, "", {"first", ""})}, Status::Ready},
        GoodCase{"250-\r\n250 \r\n", {reply(250, "", {"", ""})}, Status::Ready},
        GoodCase{"550 5.1.1 No such user\r\n", {reply(550, "5.1.1", {"5.1.1 No such user"})}, Status::Ready},
        GoodCase{"550-5.7.1 Blocked\r\n550 5.7.1 see https://x\r\n",
                 {reply(550, "5.7.1", {"5.7.1 Blocked", "5.7.1 see https://x"})},
                 Status::Ready},
        GoodCase{"250 2.1.0\r\n", {reply(250, "2.1.0", {"2.1.0"})}, Status::Ready},
        GoodCase{"451 4.123.456 later\r\n", {reply(451, "4.123.456", {"4.123.456 later"})}, Status::Ready},
        // Not an enhanced code of the reply's class, or not one at all.
        GoodCase{"550 4.1.1 odd\r\n", {reply(550, "", {"4.1.1 odd"})}, Status::Ready},
        GoodCase{"550 5.1.1x no\r\n", {reply(550, "", {"5.1.1x no"})}, Status::Ready},
        GoodCase{"550 5.1234.1 no\r\n", {reply(550, "", {"5.1234.1 no"})}, Status::Ready},
        GoodCase{"550 5.1. no\r\n", {reply(550, "", {"5.1. no"})}, Status::Ready},
        GoodCase{"354 3.0.0 go ahead\r\n", {reply(354, "", {"3.0.0 go ahead"})}, Status::Ready},
        GoodCase{"550  5.1.1 leading space\r\n", {reply(550, "", {" 5.1.1 leading space"})}, Status::Ready},
        // Only the CR right before LF belongs to the line ending.
        GoodCase{"250 a\rb\r\n", {reply(250, "", {"a\rb"})}, Status::Ready},
        GoodCase{"250 a\r\r\n", {reply(250, "", {"a\r"})}, Status::Ready},
        // Several replies back to back (PIPELINING).
        GoodCase{"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No\r\n354 End data\r\n",
                 {reply(250, "2.1.0", {"2.1.0 Ok"}), reply(250, "2.1.5", {"2.1.5 Ok"}),
                  reply(550, "5.1.1", {"5.1.1 No"}), reply(354, "", {"End data"})},
                 Status::Ready},
        // Unfinished input: what is complete is returned, the rest waits.
        GoodCase{"250-a\r\n250 b", {}, Status::NeedMore},
        GoodCase{"250 a\r\n250-b\r\n", {reply(250, "", {"a"})}, Status::NeedMore},
        GoodCase{"250 a\r", {}, Status::NeedMore}));

// ------------------------------------------------------------------ malformed

struct BadCase {
  std::string wire;
  std::string error_prefix;
  size_t replies_before = 0;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << volley::printable(c.wire); }

class ReplyReaderBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ReplyReaderBad, WholeAndByteByByte) {
  const BadCase& c = GetParam();
  for (size_t piece : {size_t{0}, size_t{1}, size_t{3}}) {
    SCOPED_TRACE("piece " + std::to_string(piece));
    const ReadOutcome got = read_all(c.wire, piece);
    EXPECT_EQ(got.last, Status::Error);
    EXPECT_EQ(got.replies.size(), c.replies_before);
    EXPECT_TRUE(got.error.starts_with(c.error_prefix)) << got.error;
    for (char ch : got.error) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << volley::printable(got.error);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ReplyReaderBad,
                         ::testing::Values(BadCase{"\r\n", "malformed reply line"},
                                           BadCase{"25\r\n", "malformed reply line"},
                                           BadCase{"abc def\r\n", "malformed reply line"},
                                           BadCase{"2x0 ok\r\n", "malformed reply line"},
                                           BadCase{" 250 ok\r\n", "malformed reply line"},
                                           BadCase{"250x\r\n", "malformed reply line"},
                                           BadCase{"250\tok\r\n", "malformed reply line"},
                                           BadCase{"2500 ok\r\n", "malformed reply line"},
                                           BadCase{"199 ok\r\n", "reply code out of range"},
                                           BadCase{"100 ok\r\n", "reply code out of range"},
                                           BadCase{"600 ok\r\n", "reply code out of range"},
                                           BadCase{"000 ok\r\n", "reply code out of range"},
                                           BadCase{"250-a\r\n251 b\r\n", "reply code changed"},
                                           BadCase{"250-a\r\n550-b\r\n550 c\r\n", "reply code changed"},
                                           BadCase{std::string("250 a\r\n220 b\r\n\x00\r\n", 17), "malformed reply line", 2},
                                           BadCase{"250-a\r\nbogus\r\n", "malformed reply line"}));

TEST(ReplyReader, ErrorIsFinal) {
  ReplyReader reader;
  ServerReply r;
  std::string_view in = "bogus\r\n";
  EXPECT_EQ(reader.next(in, r), Status::Error);
  const std::string first = reader.error();
  std::string_view good = "250 ok\r\n";
  EXPECT_EQ(reader.next(good, r), Status::Error);
  EXPECT_EQ(reader.error(), first);
}

TEST(ReplyReader, LeavesTheNextReplyInTheInput) {
  ReplyReader reader;
  ServerReply r;
  std::string_view in = "250-a\r\n250 b\r\n354 go\r\n";
  ASSERT_EQ(reader.next(in, r), Status::Ready);
  EXPECT_EQ(r.lines, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(in, "354 go\r\n");
  EXPECT_FALSE(reader.mid_reply());
  ASSERT_EQ(reader.next(in, r), Status::Ready);
  EXPECT_EQ(r.code, 354);
  EXPECT_TRUE(in.empty());
}

TEST(ReplyReader, MidReplyWhileAReplyIsUnfinished) {
  ReplyReader reader;
  ServerReply r;
  std::string_view in = "25";
  EXPECT_EQ(reader.next(in, r), Status::NeedMore);
  EXPECT_TRUE(reader.mid_reply());
  in = "0-a\r\n";
  EXPECT_EQ(reader.next(in, r), Status::NeedMore);
  EXPECT_TRUE(reader.mid_reply());
  in = "250 b\r\n";
  EXPECT_EQ(reader.next(in, r), Status::Ready);
  EXPECT_FALSE(reader.mid_reply());
  EXPECT_EQ(r.lines, (std::vector<std::string>{"a", "b"}));
}

TEST(ReplyReader, EmptyInputNeedsMore) {
  ReplyReader reader;
  ServerReply r;
  std::string_view in;
  EXPECT_EQ(reader.next(in, r), Status::NeedMore);
  EXPECT_FALSE(reader.mid_reply());
}

// --------------------------------------------------------------------- bounds

TEST(ReplyReaderBounds, LineLengthExcludesTheLineEnding) {
  const size_t max_line = 20;
  const std::string at_limit = "250 " + std::string(max_line - 4, 'x');
  const std::string over = at_limit + "y";
  for (size_t piece : {size_t{0}, size_t{1}, size_t{5}}) {
    SCOPED_TRACE("piece " + std::to_string(piece));
    EXPECT_EQ(read_all(at_limit + "\r\n", piece, ReplyReader(max_line)).last, Status::Ready);
    EXPECT_EQ(read_all(at_limit + "\n", piece, ReplyReader(max_line)).last, Status::Ready);
    const ReadOutcome bad = read_all(over + "\r\n", piece, ReplyReader(max_line));
    EXPECT_EQ(bad.last, Status::Error);
    EXPECT_EQ(bad.error, "reply line too long");
    EXPECT_EQ(read_all(over + "\n", piece, ReplyReader(max_line)).error, "reply line too long");
  }
}

TEST(ReplyReaderBounds, LongLineFailsBeforeItsEndArrives) {
  // A server streaming a line without LF must not make us buffer it all.
  ReplyReader reader(100);
  ServerReply r;
  const std::string chunk(64, 'x');
  std::string_view in = "250 ";
  EXPECT_EQ(reader.next(in, r), Status::NeedMore);
  in = chunk;
  EXPECT_EQ(reader.next(in, r), Status::NeedMore);
  in = chunk;
  EXPECT_EQ(reader.next(in, r), Status::Error);
  EXPECT_EQ(reader.error(), "reply line too long");
}

TEST(ReplyReaderBounds, LineCount) {
  const size_t max_lines = 5;
  auto wire = [](size_t lines) {
    std::string s;
    for (size_t i = 1; i < lines; ++i) s += "250-line\r\n";
    return s + "250 last\r\n";
  };
  for (size_t piece : {size_t{0}, size_t{1}}) {
    const ReadOutcome ok = read_all(wire(max_lines), piece, ReplyReader(4096, max_lines));
    ASSERT_EQ(ok.replies.size(), 1u);
    EXPECT_EQ(ok.replies[0].lines.size(), max_lines);
    const ReadOutcome bad = read_all(wire(max_lines + 1), piece, ReplyReader(4096, max_lines));
    EXPECT_EQ(bad.last, Status::Error);
    EXPECT_EQ(bad.error, "reply has too many lines");
  }
  // The count is per reply, not per connection.
  EXPECT_EQ(read_all(wire(max_lines) + wire(max_lines), 0, ReplyReader(4096, max_lines)).replies.size(), 2u);
}

// ------------------------------------------------------------- ServerReply

struct TextCase {
  ServerReply reply;
  std::string text;
};

void PrintTo(const TextCase& c, std::ostream* os) { *os << c.text; }

class ServerReplyText : public ::testing::TestWithParam<TextCase> {};

TEST_P(ServerReplyText, Table) { EXPECT_EQ(GetParam().reply.text(), GetParam().text); }

INSTANTIATE_TEST_SUITE_P(
    Table, ServerReplyText,
    ::testing::Values(
        TextCase{reply(550, "5.1.1", {"5.1.1 No such user"}), "550 5.1.1 No such user"},
        TextCase{reply(250, "", {""}), "250"},
        TextCase{reply(250, "", {"", "  "}), "250"},
        TextCase{reply(550, "5.1.1", {"5.1.1 The account", "5.1.1 does not exist"}),
                 "550 5.1.1 The account does not exist"},
        TextCase{reply(550, "5.1.1", {"5.1.1 first", "5.1.10 other code"}), "550 5.1.1 first 5.1.10 other code"},
        TextCase{reply(550, "5.1.1", {"5.1.1 first", "5.1.1"}), "550 5.1.1 first"},
        TextCase{reply(250, "", {"mx.example.com", "PIPELINING", "SIZE 10"}), "250 mx.example.com PIPELINING SIZE 10"},
        TextCase{reply(451, "", {"bad\ttext\x01", "caf\xc3\xa9"}), "451 bad text caf??"},
        TextCase{reply(451, "", {"a\rb\x7f"}), "451 a b"}));

TEST(ServerReply, TextIsBounded) {
  ServerReply r = reply(550, "", {});
  for (int i = 0; i < 300; ++i) r.lines.push_back("0123456789");
  const std::string t = r.text();
  EXPECT_EQ(t.size(), ServerReply::kMaxTextLength);
  EXPECT_TRUE(t.ends_with("...")) << t;
  EXPECT_TRUE(t.starts_with("550 0123456789 0123456789")) << t;
}

TEST(ServerReply, Classes) {
  struct Row {
    int code;
    bool positive, transient, permanent;
  };
  for (const Row& row : {Row{0, false, false, false}, Row{220, true, false, false}, Row{250, true, false, false},
                         Row{354, true, false, false}, Row{421, false, true, false}, Row{451, false, true, false},
                         Row{500, false, false, true}, Row{554, false, false, true}}) {
    ServerReply r;
    r.code = row.code;
    EXPECT_EQ(r.positive(), row.positive) << row.code;
    EXPECT_EQ(r.transient(), row.transient) << row.code;
    EXPECT_EQ(r.permanent(), row.permanent) << row.code;
  }
}

TEST(EnhancedStatusCode, Table) {
  struct Row {
    const char* text;
    bool valid;
  };
  for (const Row& row : {Row{"2.0.0", true}, Row{"4.7.1", true}, Row{"5.1.1", true}, Row{"5.123.456", true},
                         Row{"3.0.0", false}, Row{"1.0.0", false}, Row{"5.1", false}, Row{"5.1.", false},
                         Row{"5..1", false}, Row{"5.1234.1", false}, Row{"5.1.1234", false}, Row{"5.1.1 ", false},
                         Row{"5.a.1", false}, Row{"", false}, Row{"55.1.1", false}}) {
    EXPECT_EQ(is_enhanced_status_code(row.text), row.valid) << row.text;
  }
}

}  // namespace
}  // namespace volley::delivery
