#include "delivery/client_capabilities.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace volley::delivery {
namespace {

// The reply as the reader would produce it from `wire`.
ServerReply read(std::string_view wire) {
  ReplyReader reader;
  ServerReply r;
  EXPECT_EQ(reader.next(wire, r), ReplyReader::Status::Ready) << reader.error();
  return r;
}

ServerReply ehlo(std::vector<std::string> lines, int code = 250) {
  ServerReply r;
  r.code = code;
  r.lines = std::move(lines);
  return r;
}

struct Flags {
  bool esmtp, pipelining, starttls, eight_bit_mime, smtputf8, dsn, chunking, enhanced, size;
  uint64_t max_size;
};

Flags flags_of(const ServerCapabilities& c) {
  return {c.esmtp, c.pipelining, c.starttls, c.eight_bit_mime, c.smtputf8, c.dsn, c.chunking,
          c.enhanced_status_codes, c.size, c.max_size};
}

struct CapsCase {
  const char* name;
  ServerReply reply;
  Flags want;
  std::vector<std::string> auth;
};

void PrintTo(const CapsCase& c, std::ostream* os) { *os << c.name; }

class ParseEhlo : public ::testing::TestWithParam<CapsCase> {};

TEST_P(ParseEhlo, Table) {
  const CapsCase& c = GetParam();
  const ServerCapabilities caps = parse_ehlo_reply(c.reply);
  const Flags got = flags_of(caps);
  EXPECT_EQ(got.esmtp, c.want.esmtp);
  EXPECT_EQ(got.pipelining, c.want.pipelining);
  EXPECT_EQ(got.starttls, c.want.starttls);
  EXPECT_EQ(got.eight_bit_mime, c.want.eight_bit_mime);
  EXPECT_EQ(got.smtputf8, c.want.smtputf8);
  EXPECT_EQ(got.dsn, c.want.dsn);
  EXPECT_EQ(got.chunking, c.want.chunking);
  EXPECT_EQ(got.enhanced, c.want.enhanced);
  EXPECT_EQ(got.size, c.want.size);
  EXPECT_EQ(got.max_size, c.want.max_size);
  EXPECT_EQ(caps.auth, c.auth);
}

constexpr Flags kNone{false, false, false, false, false, false, false, false, false, 0};
constexpr Flags kEsmtpOnly{true, false, false, false, false, false, false, false, false, 0};

INSTANTIATE_TEST_SUITE_P(
    Table, ParseEhlo,
    ::testing::Values(
        CapsCase{"postfix",
                 read("250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
                      "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n"
                      "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"),
                 {true, true, true, true, true, true, true, true, true, 10240000},
                 {"PLAIN", "LOGIN"}},
        CapsCase{"greeting only", ehlo({"mx.example.com Hello"}), kEsmtpOnly, {}},
        // The first line is the server's name even when it looks like a keyword.
        CapsCase{"first line skipped", ehlo({"PIPELINING"}), kEsmtpOnly, {}},
        CapsCase{"lowercase keywords", ehlo({"mx", "pipelining", "starttls", "8bitmime", "SmtpUtf8", "dsn", "chunking",
                                             "enhancedstatuscodes", "size"}),
                 {true, true, true, true, true, true, true, true, true, 0},
                 {}},
        CapsCase{"size zero", ehlo({"mx", "SIZE 0"}), {true, false, false, false, false, false, false, false, true, 0}, {}},
        CapsCase{"size garbage", ehlo({"mx", "SIZE 12ab"}), {true, false, false, false, false, false, false, false, true, 0}, {}},
        CapsCase{"size overflow", ehlo({"mx", "SIZE 99999999999999999999999"}),
                 {true, false, false, false, false, false, false, false, true, 0},
                 {}},
        CapsCase{"size max u64", ehlo({"mx", "SIZE 18446744073709551615"}),
                 {true, false, false, false, false, false, false, false, true, 18446744073709551615ULL},
                 {}},
        CapsCase{"size after spaces", ehlo({"mx", "  SIZE\t  52428800  "}),
                 {true, false, false, false, false, false, false, false, true, 52428800},
                 {}},
        CapsCase{"keyword must match whole", ehlo({"mx", "8BITMIMEX", "XPIPELINING", "STARTTLS-NOT", "SIZEX 10"}),
                 kEsmtpOnly, {}},
        CapsCase{"keyword with parameters", ehlo({"mx", "STARTTLS now", "DSN x"}),
                 {true, false, true, false, false, true, false, false, false, 0},
                 {}},
        CapsCase{"auth lowercase and old form", ehlo({"mx", "auth plain login", "AUTH=CRAM-MD5 login XOAUTH2"}),
                 kEsmtpOnly, {"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"}},
        CapsCase{"auth bad mechanisms skipped",
                 ehlo({"mx", "AUTH P@IN SCRAM-SHA-256 ABCDEFGHIJKLMNOPQRSTU GSSAPI"}),
                 kEsmtpOnly, {"SCRAM-SHA-256", "GSSAPI"}},
        CapsCase{"auth without mechanisms", ehlo({"mx", "AUTH", "AUTH="}), kEsmtpOnly, {}},
        CapsCase{"refused", ehlo({"command not recognised"}, 502), kNone, {}},
        CapsCase{"refused ignores keywords", ehlo({"x", "PIPELINING", "SIZE 10"}, 554), kNone, {}}));

TEST(ParseEhlo, AuthListIsBounded) {
  ServerReply r = ehlo({"mx"});
  std::string line = "AUTH";
  for (int i = 0; i < 100; ++i) line += " M" + std::to_string(i);
  r.lines.push_back(line);
  const ServerCapabilities caps = parse_ehlo_reply(r);
  EXPECT_EQ(caps.auth.size(), ServerCapabilities::kMaxAuthMechanisms);
  EXPECT_EQ(caps.auth.front(), "M0");
}

TEST(ParseEhlo, OffersAuthIsCaseInsensitive) {
  const ServerCapabilities caps = parse_ehlo_reply(ehlo({"mx", "AUTH PLAIN LOGIN"}));
  EXPECT_TRUE(caps.offers_auth("plain"));
  EXPECT_TRUE(caps.offers_auth("LOGIN"));
  EXPECT_FALSE(caps.offers_auth("CRAM-MD5"));
  EXPECT_FALSE(caps.offers_auth(""));
}

}  // namespace
}  // namespace volley::delivery
