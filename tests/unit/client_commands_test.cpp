#include "delivery/client_commands.hpp"

#include <gtest/gtest.h>

#include <string>

#include "smtp/command.hpp"
#include "smtp/data_reader.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace volley::delivery {
namespace {

using namespace smtp;  // commands are checked by parsing them back with the server's parsers

ServerCapabilities caps_with(void (*set)(ServerCapabilities&)) {
  ServerCapabilities c;
  c.esmtp = true;
  set(c);
  return c;
}

const ServerCapabilities kPlain = caps_with([](ServerCapabilities&) {});
const ServerCapabilities kAll = caps_with([](ServerCapabilities& c) {
  c.size = true;
  c.max_size = 1000000;
  c.eight_bit_mime = c.smtputf8 = c.dsn = c.pipelining = true;
});

queue::Envelope envelope(std::string sender) {
  queue::Envelope env;
  env.sender = std::move(sender);
  queue::Recipient r;
  r.address = "rcpt@example.org";
  env.recipients.push_back(r);
  return env;
}

// ------------------------------------------------------------------ EHLO/HELO

TEST(ClientCommands, Greetings) {
  EXPECT_EQ(ehlo_command("mail.example.com"), "EHLO mail.example.com\r\n");
  EXPECT_EQ(helo_command("mail.example.com"), "HELO mail.example.com\r\n");
  // Nothing from the config can start a second command.
  EXPECT_EQ(ehlo_command("a\r\nQUIT"), "EHLO aQUIT\r\n");
}

// ----------------------------------------------------------------------- MAIL

struct MailCase {
  const char* name;
  queue::Envelope env;
  uint64_t size;
  ServerCapabilities caps;
  bool eight_bit_content;
  std::string want;
};

void PrintTo(const MailCase& c, std::ostream* os) { *os << c.name; }

class MailFrom : public ::testing::TestWithParam<MailCase> {};

TEST_P(MailFrom, Table) {
  const MailCase& c = GetParam();
  EXPECT_EQ(mail_from_command(c.env, c.size, c.caps, c.eight_bit_content), c.want);
}

queue::Envelope with(queue::Envelope env, void (*set)(queue::Envelope&)) {
  set(env);
  return env;
}

const queue::Envelope kEverything = with(envelope("s@example.com"), [](queue::Envelope& e) {
  e.eight_bit = e.smtputf8 = true;
  e.dsn_ret = "HDRS";
  e.dsn_envid = "id+1=x y";
});

INSTANTIATE_TEST_SUITE_P(
    Table, MailFrom,
    ::testing::Values(
        MailCase{"plain", envelope("s@example.com"), 100, kPlain, false, "MAIL FROM:<s@example.com>\r\n"},
        MailCase{"null sender", envelope(""), 100, kPlain, false, "MAIL FROM:<>\r\n"},
        MailCase{"size", envelope("s@example.com"), 1234, caps_with([](ServerCapabilities& c) { c.size = true; }),
                 false, "MAIL FROM:<s@example.com> SIZE=1234\r\n"},
        MailCase{"everything, server has nothing", kEverything, 5, kPlain, true, "MAIL FROM:<s@example.com>\r\n"},
        MailCase{"everything, server has all", kEverything, 5, kAll, false,
                 "MAIL FROM:<s@example.com> SIZE=5 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+2B1+3Dx+20y\r\n"},
        MailCase{"8-bit content without the client's BODY", envelope("s@example.com"), 5,
                 caps_with([](ServerCapabilities& c) { c.eight_bit_mime = true; }), true,
                 "MAIL FROM:<s@example.com> BODY=8BITMIME\r\n"},
        MailCase{"7-bit content, no BODY", envelope("s@example.com"), 5,
                 caps_with([](ServerCapabilities& c) { c.eight_bit_mime = true; }), false,
                 "MAIL FROM:<s@example.com>\r\n"},
        MailCase{"UTF-8 sender implies SMTPUTF8", envelope("j\xc3\xb6rg@example.com"), 5,
                 caps_with([](ServerCapabilities& c) { c.smtputf8 = true; }), false,
                 "MAIL FROM:<j\xc3\xb6rg@example.com> SMTPUTF8\r\n"},
        MailCase{"UTF-8 recipient implies SMTPUTF8",
                 with(envelope("s@example.com"), [](queue::Envelope& e) { e.recipients[0].address = "\xc3\xa9@x.org"; }),
                 5, caps_with([](ServerCapabilities& c) { c.smtputf8 = true; }), false,
                 "MAIL FROM:<s@example.com> SMTPUTF8\r\n"},
        MailCase{"RET lowercase", with(envelope("s@example.com"), [](queue::Envelope& e) { e.dsn_ret = "full"; }), 5,
                 caps_with([](ServerCapabilities& c) { c.dsn = true; }), false,
                 "MAIL FROM:<s@example.com> RET=FULL\r\n"},
        MailCase{"RET bogus dropped", with(envelope("s@example.com"), [](queue::Envelope& e) { e.dsn_ret = "ALL"; }),
                 5, caps_with([](ServerCapabilities& c) { c.dsn = true; }), false, "MAIL FROM:<s@example.com>\r\n"},
        MailCase{"control bytes removed",
                 with(envelope("s@example.com\r\nRCPT TO:<x@y>"), [](queue::Envelope&) {}), 5, kPlain, false,
                 "MAIL FROM:<s@example.comRCPT TO:<x@y>>\r\n"}));

// What we send, the server-side parser (ours, strict) must read back.
TEST(MailFrom, ServerParserReadsItBack) {
  const std::string line = mail_from_command(kEverything, 4321, kAll);
  ASSERT_TRUE(line.ends_with("\r\n"));
  const CommandLine cl = split_command(std::string_view(line).substr(0, line.size() - 2));
  ASSERT_EQ(cl.verb, Verb::Mail);
  const auto parsed = parse_mail(cl.argument, true);
  ASSERT_TRUE(parsed.ok) << parsed.error.detail;
  EXPECT_EQ(parsed.value.path.mailbox.to_string(), "s@example.com");
  EXPECT_EQ(parsed.value.size, 4321u);
  EXPECT_EQ(parsed.value.body, BodyType::EightBitMime);
  EXPECT_TRUE(parsed.value.smtputf8);
  EXPECT_EQ(parsed.value.ret, DsnRet::Headers);
  EXPECT_EQ(parsed.value.envid, kEverything.dsn_envid);
}

// ----------------------------------------------------------------------- RCPT

queue::Recipient recipient(unsigned notify, std::string orcpt_type = "", std::string orcpt_address = "") {
  queue::Recipient r;
  r.address = "u@example.org";
  r.notify = notify;
  r.orcpt_type = std::move(orcpt_type);
  r.orcpt_address = std::move(orcpt_address);
  return r;
}

struct RcptCase {
  const char* name;
  queue::Recipient rcpt;
  bool dsn;
  std::string want;
};

void PrintTo(const RcptCase& c, std::ostream* os) { *os << c.name; }

class RcptTo : public ::testing::TestWithParam<RcptCase> {};

TEST_P(RcptTo, Table) {
  const RcptCase& c = GetParam();
  ServerCapabilities caps;
  caps.dsn = c.dsn;
  EXPECT_EQ(rcpt_to_command(c.rcpt, caps), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RcptTo,
    ::testing::Values(
        RcptCase{"plain", recipient(0), true, "RCPT TO:<u@example.org>\r\n"},
        RcptCase{"no DSN at server", recipient(kNotifySuccess | kNotifyFailure, "rfc822", "o@x"), false,
                 "RCPT TO:<u@example.org>\r\n"},
        RcptCase{"never", recipient(kNotifyNever), true, "RCPT TO:<u@example.org> NOTIFY=NEVER\r\n"},
        RcptCase{"success,failure", recipient(kNotifyFailure | kNotifySuccess), true,
                 "RCPT TO:<u@example.org> NOTIFY=SUCCESS,FAILURE\r\n"},
        RcptCase{"all three", recipient(kNotifyDelay | kNotifyFailure | kNotifySuccess), true,
                 "RCPT TO:<u@example.org> NOTIFY=SUCCESS,FAILURE,DELAY\r\n"},
        RcptCase{"delay only", recipient(kNotifyDelay), true, "RCPT TO:<u@example.org> NOTIFY=DELAY\r\n"},
        RcptCase{"orcpt rfc822 xtext", recipient(0, "rfc822", "a+b=c@x.org"), true,
                 "RCPT TO:<u@example.org> ORCPT=rfc822;a+2Bb+3Dc@x.org\r\n"},
        RcptCase{"notify then orcpt", recipient(kNotifyFailure, "rfc822", "o@x.org"), true,
                 "RCPT TO:<u@example.org> NOTIFY=FAILURE ORCPT=rfc822;o@x.org\r\n"},
        RcptCase{"orcpt utf-8", recipient(0, "utf-8", "j\xc3\xbcrgen+x=\\@x.org"), true,
                 "RCPT TO:<u@example.org> ORCPT=utf-8;j\\x{FC}rgen\\x{2B}x\\x{3D}\\x{5C}@x.org\r\n"},
        RcptCase{"orcpt utf-8 astral", recipient(0, "utf-8", "\xf0\x9f\x98\x80@\xe4\xb8\xad.cn"), true,
                 "RCPT TO:<u@example.org> ORCPT=utf-8;\\x{1F600}@\\x{4E2D}.cn\r\n"},
        RcptCase{"orcpt utf-8 invalid dropped", recipient(0, "utf-8", "\xff@x.org"), true,
                 "RCPT TO:<u@example.org>\r\n"},
        RcptCase{"orcpt without type dropped", recipient(0, "", "o@x.org"), true, "RCPT TO:<u@example.org>\r\n"},
        RcptCase{"orcpt bad type dropped", recipient(0, "rfc 822", "o@x.org"), true, "RCPT TO:<u@example.org>\r\n"},
        RcptCase{"orcpt empty dropped", recipient(0, "rfc822", ""), true, "RCPT TO:<u@example.org>\r\n"}));

TEST(RcptTo, ControlBytesRemoved) {
  queue::Recipient r = recipient(0);
  r.address = "u@x\r\nDATA";
  EXPECT_EQ(rcpt_to_command(r, ServerCapabilities{}), "RCPT TO:<u@xDATA>\r\n");
}

// The server-side parser recovers NOTIFY and ORCPT exactly.
TEST(RcptTo, ServerParserReadsItBack) {
  ServerCapabilities caps;
  caps.dsn = true;
  for (const queue::Recipient& r :
       {recipient(kNotifySuccess | kNotifyDelay, "rfc822", "a+b=c d@x.org"),
        recipient(kNotifyNever, "utf-8", "j\xc3\xbcrgen+x=\\@x.org"), recipient(0, "utf-8", "plain@x.org"),
        recipient(kNotifyFailure, "utf-8", "\xf0\x9f\x98\x80@\xe4\xb8\xad.cn")}) {
    const std::string line = rcpt_to_command(r, caps);
    const CommandLine cl = split_command(std::string_view(line).substr(0, line.size() - 2));
    ASSERT_EQ(cl.verb, Verb::Rcpt);
    for (bool smtputf8 : {false, true}) {
      const auto parsed = parse_rcpt(cl.argument, smtputf8);
      ASSERT_TRUE(parsed.ok) << line << parsed.error.detail;
      EXPECT_EQ(parsed.value.notify, r.notify) << line;
      EXPECT_EQ(parsed.value.orcpt_type, r.orcpt_type) << line;
      EXPECT_EQ(parsed.value.orcpt_address, r.orcpt_address) << line;
    }
  }
}

// ----------------------------------------------------------------------- AUTH

TEST(ClientCommands, AuthPlain) {
  EXPECT_EQ(auth_plain_command("user", "pass"), "AUTH PLAIN AHVzZXIAcGFzcw==\r\n");
  const std::string line = auth_plain_command("j\xc3\xb6rg@example.com", "p w:\x01");
  const auto decoded = base64_decode(std::string_view(line).substr(11, line.size() - 13));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, std::string("\0j\xc3\xb6rg@example.com\0p w:\x01", 24));
}

TEST(ClientCommands, SaslResponseAndFixedCommands) {
  EXPECT_EQ(sasl_response("user"), "dXNlcg==\r\n");
  EXPECT_EQ(sasl_response(""), "\r\n");
  EXPECT_EQ(kAuthLoginCommand, "AUTH LOGIN\r\n");
  EXPECT_EQ(kDataCommand, "DATA\r\n");
}

TEST(ClientCommands, Bdat) {
  EXPECT_EQ(bdat_command(100, false), "BDAT 100\r\n");
  EXPECT_EQ(bdat_command(0, true), "BDAT 0 LAST\r\n");
  EXPECT_EQ(bdat_command(18446744073709551615ULL, true), "BDAT 18446744073709551615 LAST\r\n");
}

// ---------------------------------------------------------------- DATA payload

struct PayloadCase {
  std::string content;
  std::string payload;     // what goes on the wire
  std::string normalised;  // what the receiver stores
};

void PrintTo(const PayloadCase& c, std::ostream* os) { *os << volley::printable(c.content); }

class DataPayload : public ::testing::TestWithParam<PayloadCase> {};

TEST_P(DataPayload, Table) {
  const PayloadCase& c = GetParam();
  std::string out = "DATA-SO-FAR";
  append_data_payload(out, c.content);
  EXPECT_EQ(out, "DATA-SO-FAR" + c.payload) << volley::printable(out);
}

// Our own server's DATA reader ends exactly at our terminator and stores
// the CRLF-normalised content.
TEST_P(DataPayload, ServerReaderGetsTheNormalisedContent) {
  const PayloadCase& c = GetParam();
  std::string wire;
  append_data_payload(wire, c.content);
  DataReader reader(ContentLimits{});
  EXPECT_EQ(reader.feed(wire), wire.size());
  ASSERT_TRUE(reader.done());
  EXPECT_EQ(reader.verdict(), Verdict::Ok);
  EXPECT_EQ(reader.take_body(), c.normalised);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DataPayload,
    ::testing::Values(PayloadCase{"", ".\r\n", ""}, PayloadCase{"a\r\n", "a\r\n.\r\n", "a\r\n"},
                      PayloadCase{"a", "a\r\n.\r\n", "a\r\n"},
                      PayloadCase{"\r\n", "\r\n.\r\n", "\r\n"},
                      PayloadCase{".", "..\r\n.\r\n", ".\r\n"},
                      PayloadCase{".\r\n", "..\r\n.\r\n", ".\r\n"},
                      PayloadCase{"..x\r\n", "...x\r\n.\r\n", "..x\r\n"},
                      PayloadCase{".start\r\nmid\r\n.\r\nend", "..start\r\nmid\r\n..\r\nend\r\n.\r\n",
                                  ".start\r\nmid\r\n.\r\nend\r\n"},
                      PayloadCase{"a.b\r\n .\r\n", "a.b\r\n .\r\n.\r\n", "a.b\r\n .\r\n"},
                      PayloadCase{"a\nb\n", "a\r\nb\r\n.\r\n", "a\r\nb\r\n"},
                      PayloadCase{"a\rb", "a\r\nb\r\n.\r\n", "a\r\nb\r\n"},
                      PayloadCase{"a\r", "a\r\n.\r\n", "a\r\n"},
                      PayloadCase{"a\r\r\n", "a\r\n\r\n.\r\n", "a\r\n\r\n"},
                      PayloadCase{"a\n\r", "a\r\n\r\n.\r\n", "a\r\n\r\n"},
                      // Smuggling attempts: only our own terminator ends the data.
                      PayloadCase{"x\n.\nRCPT", "x\r\n..\r\nRCPT\r\n.\r\n", "x\r\n.\r\nRCPT\r\n"},
                      PayloadCase{"x\r\n.\rMAIL", "x\r\n..\r\nMAIL\r\n.\r\n", "x\r\n.\r\nMAIL\r\n"},
                      PayloadCase{"x\r\n.\r\nQUIT\r\n", "x\r\n..\r\nQUIT\r\n.\r\n", "x\r\n.\r\nQUIT\r\n"}));

TEST(DataPayloadLarge, LongContentWithManyDots) {
  std::string content;
  std::string want;
  for (int i = 0; i < 2000; ++i) {
    const std::string line = std::string(i % 3 == 0 ? "." : "").append(static_cast<size_t>(i % 97), 'x');
    content += line + "\r\n";
    want += (i % 3 == 0 ? "." : "") + line + "\r\n";
  }
  std::string out;
  append_data_payload(out, content);
  EXPECT_EQ(out, want + ".\r\n");
}

}  // namespace
}  // namespace volley::delivery
