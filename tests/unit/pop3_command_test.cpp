#include "pop3/command.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pop3/multiline.hpp"
#include "util/strings.hpp"

namespace volley::pop3 {
namespace {

// ------------------------------------------------------------ parse_command

struct ParseCase {
  std::string line;
  Verb verb;
  std::string keyword;
  std::string rest;
  std::vector<std::string> args;
  bool extra = false;
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << volley::printable(c.line); }

class ParseCommand : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseCommand, Table) {
  const ParseCase& c = GetParam();
  const CommandLine cl = parse_command(c.line);
  EXPECT_EQ(cl.verb, c.verb);
  EXPECT_EQ(cl.keyword, c.keyword);
  EXPECT_EQ(cl.rest, c.rest);
  ASSERT_EQ(cl.arg_count, c.args.size());
  for (size_t i = 0; i < cl.arg_count; ++i) EXPECT_EQ(cl.args[i], c.args[i]);
  EXPECT_EQ(cl.extra_args, c.extra);
}

INSTANTIATE_TEST_SUITE_P(
    Pop3, ParseCommand,
    ::testing::Values(
        ParseCase{"STAT", Verb::Stat, "STAT", "", {}},
        ParseCase{"stat", Verb::Stat, "stat", "", {}},             // keywords are case-insensitive
        ParseCase{"cApA", Verb::Capa, "cApA", "", {}},
        ParseCase{"RETR 1", Verb::Retr, "RETR", "1", {"1"}},
        ParseCase{"TOP 2 10", Verb::Top, "TOP", "2 10", {"2", "10"}},
        ParseCase{"TOP  2   10 ", Verb::Top, "TOP", " 2   10 ", {"2", "10"}},  // tolerant of extra spaces
        ParseCase{"LIST 1 2 3", Verb::List, "LIST", "1 2 3", {"1", "2"}, true},
        ParseCase{"USER alice@local.test", Verb::User, "USER", "alice@local.test", {"alice@local.test"}},
        // PASS keeps the rest of the line whole: spaces belong to the password.
        ParseCase{"PASS a b  c ", Verb::Pass, "PASS", "a b  c ", {"a", "b"}, true},
        ParseCase{"PASS", Verb::Pass, "PASS", "", {}},
        ParseCase{"AUTH PLAIN AGFsaWNlAHNlY3JldA==", Verb::Auth, "AUTH", "PLAIN AGFsaWNlAHNlY3JldA==",
                  {"PLAIN", "AGFsaWNlAHNlY3JldA=="}},
        ParseCase{"STLS", Verb::Stls, "STLS", "", {}},
        ParseCase{"APOP mrose c4c9334bac560ecc979e58001b3e22fb", Verb::Apop, "APOP",
                  "mrose c4c9334bac560ecc979e58001b3e22fb", {"mrose", "c4c9334bac560ecc979e58001b3e22fb"}},
        ParseCase{"DELE 3", Verb::Dele, "DELE", "3", {"3"}},
        ParseCase{"RSET", Verb::Rset, "RSET", "", {}},
        ParseCase{"NOOP", Verb::Noop, "NOOP", "", {}},
        ParseCase{"QUIT", Verb::Quit, "QUIT", "", {}},
        ParseCase{"UIDL", Verb::Uidl, "UIDL", "", {}},
        ParseCase{"", Verb::Unknown, "", "", {}},
        ParseCase{" STAT", Verb::Unknown, "", "STAT", {"STAT"}},    // a leading space is no keyword
        ParseCase{"STATS", Verb::Unknown, "STATS", "", {}},
        ParseCase{"RETRX 1", Verb::Unknown, "RETRX", "1", {"1"}},
        ParseCase{"GET / HTTP/1.1", Verb::Unknown, "GET", "/ HTTP/1.1", {"/", "HTTP/1.1"}},
        ParseCase{"EHLO client", Verb::Unknown, "EHLO", "client", {"client"}}));

TEST(Pop3Command, ForbiddenBytes) {
  EXPECT_FALSE(has_forbidden_bytes("PASS s\xc3\xa9same"));  // UTF-8 passwords
  EXPECT_FALSE(has_forbidden_bytes("PASS a\tb"));
  EXPECT_TRUE(has_forbidden_bytes(std::string("USER a\0b", 8)));
  EXPECT_TRUE(has_forbidden_bytes("NOOP\x01"));
  EXPECT_TRUE(has_forbidden_bytes("NOOP\x7f"));
  EXPECT_TRUE(has_forbidden_bytes("NO\rOP"));
}

TEST(Pop3Command, MessageNumbers) {
  EXPECT_EQ(parse_message_number("1"), 1u);
  EXPECT_EQ(parse_message_number("42"), 42u);
  EXPECT_EQ(parse_message_number("100000000"), 100000000u);
  for (const char* bad : {"", "0", "01", "-1", "+1", "1x", "x", "100000001", "99999999999999999999999", " 1"})
    EXPECT_FALSE(parse_message_number(bad)) << bad;
}

TEST(Pop3Command, LineCounts) {
  EXPECT_EQ(parse_line_count("0"), 0u);
  EXPECT_EQ(parse_line_count("10"), 10u);
  EXPECT_EQ(parse_line_count("99999999999999999999999999"), UINT64_MAX);  // everything
  for (const char* bad : {"", "-1", "1.5", "x", "+3"}) EXPECT_FALSE(parse_line_count(bad)) << bad;
}

// --------------------------------------------------------- MultilineEncoder

std::string encode(const std::vector<std::string>& pieces, uint64_t lines = MultilineEncoder::kAllLines) {
  MultilineEncoder e(lines);
  std::string out;
  for (const auto& p : pieces)
    if (!e.feed(p, out)) break;
  e.finish(out);
  return out;
}

TEST(Pop3Multiline, DotStuffsLinesStartingWithADot) {
  EXPECT_EQ(encode({"a\r\n.b\r\n..c\r\n.\r\n"}), "a\r\n..b\r\n...c\r\n..\r\n.\r\n");
  EXPECT_EQ(encode({".first\r\n"}), "..first\r\n.\r\n");
  EXPECT_EQ(encode({""}), ".\r\n");
}

TEST(Pop3Multiline, StuffingAcrossPieceBoundaries) {
  const std::string msg = "x\r\n.y\r\n.\r\nz.\r\n..\r\n";
  const std::string whole = encode({msg});
  for (size_t cut = 0; cut <= msg.size(); ++cut)
    EXPECT_EQ(encode({msg.substr(0, cut), msg.substr(cut)}), whole) << cut;
  std::vector<std::string> bytes;
  for (char c : msg) bytes.emplace_back(1, c);
  EXPECT_EQ(encode(bytes), whole);
}

TEST(Pop3Multiline, LastLineWithoutCrlfGetsOne) {
  EXPECT_EQ(encode({"a\r\nno end"}), "a\r\nno end\r\n.\r\n");
}

TEST(Pop3Multiline, TopStopsAfterTheRequestedBodyLines) {
  const std::string msg = "Subject: s\r\nFrom: f\r\n\r\nb1\r\n.b2\r\nb3\r\n";
  EXPECT_EQ(encode({msg}, 0), "Subject: s\r\nFrom: f\r\n\r\n.\r\n");
  EXPECT_EQ(encode({msg}, 2), "Subject: s\r\nFrom: f\r\n\r\nb1\r\n..b2\r\n.\r\n");
  const std::string stuffed = "Subject: s\r\nFrom: f\r\n\r\nb1\r\n..b2\r\nb3\r\n.\r\n";
  EXPECT_EQ(encode({msg}, 3), stuffed);
  EXPECT_EQ(encode({msg}, 1000), stuffed);
  // Header only, no empty line: all of it.
  EXPECT_EQ(encode({"Subject: s\r\n"}, 0), "Subject: s\r\n.\r\n");
  for (size_t cut = 0; cut <= msg.size(); ++cut)
    EXPECT_EQ(encode({msg.substr(0, cut), msg.substr(cut)}, 1), "Subject: s\r\nFrom: f\r\n\r\nb1\r\n.\r\n") << cut;
}

TEST(Pop3Multiline, TopSaysWhenItHasEnough) {
  MultilineEncoder e(0);
  std::string out;
  EXPECT_TRUE(e.feed("A: b\r\n", out));
  EXPECT_FALSE(e.feed("\r\nbody\r\n", out));
  EXPECT_TRUE(e.done());
  EXPECT_EQ(out, "A: b\r\n\r\n");
}

}  // namespace
}  // namespace volley::pop3
