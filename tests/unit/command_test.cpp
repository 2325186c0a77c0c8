#include "smtp/command.hpp"

#include <gtest/gtest.h>

#include <string>

#include "util/strings.hpp"

namespace volley::smtp {
namespace {

using K = ParseErrorKind;

// Details go back to the client: printable, fixed text, none of its bytes.
void expect_safe_detail(const ParseError& e) {
  EXPECT_FALSE(e.detail.empty());
  for (char c : e.detail) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << volley::printable(e.detail);
  EXPECT_EQ(e.detail.find("sleep"), std::string::npos);
  EXPECT_EQ(e.detail.find("XFOO"), std::string::npos);
}

// ------------------------------------------------------------- split_command

struct SplitCase {
  std::string line;
  Verb verb;
  std::string verb_text;
  std::string argument;
};

void PrintTo(const SplitCase& c, std::ostream* os) { *os << volley::printable(c.line); }

class SplitCommand : public ::testing::TestWithParam<SplitCase> {};

TEST_P(SplitCommand, Table) {
  const SplitCase& c = GetParam();
  const CommandLine cl = split_command(c.line);
  EXPECT_EQ(cl.verb, c.verb);
  EXPECT_EQ(cl.verb_text, c.verb_text);
  EXPECT_EQ(cl.argument, c.argument);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SplitCommand,
    ::testing::Values(SplitCase{"MAIL FROM:<a@b>", Verb::Mail, "MAIL", "FROM:<a@b>"},
                      SplitCase{"mail from:<a@b>", Verb::Mail, "mail", "from:<a@b>"},
                      SplitCase{"MaIl FROM:<a@b> SIZE=1", Verb::Mail, "MaIl", "FROM:<a@b> SIZE=1"},
                      SplitCase{"EHLO   client.example   ", Verb::Ehlo, "EHLO", "client.example"},
                      SplitCase{"HELO client.example\t", Verb::Helo, "HELO", "client.example"},
                      SplitCase{"RCPT TO:<a@b>", Verb::Rcpt, "RCPT", "TO:<a@b>"},
                      SplitCase{"DATA", Verb::Data, "DATA", ""}, SplitCase{"BDAT 10 LAST", Verb::Bdat, "BDAT", "10 LAST"},
                      SplitCase{"RSET", Verb::Rset, "RSET", ""}, SplitCase{"NOOP x", Verb::Noop, "NOOP", "x"},
                      SplitCase{"VRFY user", Verb::Vrfy, "VRFY", "user"}, SplitCase{"EXPN list", Verb::Expn, "EXPN", "list"},
                      SplitCase{"HELP", Verb::Help, "HELP", ""}, SplitCase{"QUIT", Verb::Quit, "QUIT", ""},
                      SplitCase{"quit ", Verb::Quit, "quit", ""}, SplitCase{"STARTTLS", Verb::StartTls, "STARTTLS", ""},
                      SplitCase{"starttls", Verb::StartTls, "starttls", ""},
                      SplitCase{"AUTH PLAIN dGVzdA==", Verb::Auth, "AUTH", "PLAIN dGVzdA=="},
                      SplitCase{"GET / HTTP/1.1", Verb::HttpMethod, "GET", "/ HTTP/1.1"},
                      SplitCase{"POST /x HTTP/1.0", Verb::HttpMethod, "POST", "/x HTTP/1.0"},
                      SplitCase{"HEAD /", Verb::HttpMethod, "HEAD", "/"}, SplitCase{"PUT /", Verb::HttpMethod, "PUT", "/"},
                      SplitCase{"DELETE /", Verb::HttpMethod, "DELETE", "/"},
                      SplitCase{"OPTIONS *", Verb::HttpMethod, "OPTIONS", "*"},
                      SplitCase{"CONNECT host:443 HTTP/1.1", Verb::HttpMethod, "CONNECT", "host:443 HTTP/1.1"},
                      SplitCase{"PATCH /", Verb::HttpMethod, "PATCH", "/"},
                      SplitCase{"TRACE /", Verb::HttpMethod, "TRACE", "/"}, SplitCase{"", Verb::Unknown, "", ""},
                      SplitCase{"XYZZY foo", Verb::Unknown, "XYZZY", "foo"},
                      SplitCase{"MAILFROM:<a@b>", Verb::Unknown, "MAILFROM:<a@b>", ""},
                      SplitCase{" MAIL FROM:<a@b>", Verb::Unknown, "", "MAIL FROM:<a@b>"},
                      SplitCase{"MAIL\tFROM:<a@b>", Verb::Unknown, "MAIL\tFROM:<a@b>", ""},
                      SplitCase{"EHL", Verb::Unknown, "EHL", ""}, SplitCase{"EHLOX", Verb::Unknown, "EHLOX", ""},
                      SplitCase{"   ", Verb::Unknown, "", ""}));

// ------------------------------------------------------- has_forbidden_bytes

struct BytesCase {
  std::string line;
  bool forbidden;
};

void PrintTo(const BytesCase& c, std::ostream* os) { *os << volley::printable(c.line); }

class ForbiddenBytes : public ::testing::TestWithParam<BytesCase> {};

TEST_P(ForbiddenBytes, Table) { EXPECT_EQ(has_forbidden_bytes(GetParam().line), GetParam().forbidden); }

INSTANTIATE_TEST_SUITE_P(Table, ForbiddenBytes,
                         ::testing::Values(BytesCase{"MAIL FROM:<a@b>", false}, BytesCase{"", false},
                                           BytesCase{"EHLO\tx", false}, BytesCase{"MAIL FROM:<ü@b>", false},
                                           BytesCase{std::string("MAIL\0", 5), true}, BytesCase{"a\rb", true},
                                           BytesCase{"a\nb", true}, BytesCase{"a\x1b[2J", true},
                                           BytesCase{"a\x7f", true}, BytesCase{"\x01", true}));

// ---------------------------------------------------------------- parse_mail

struct MailCase {
  std::string arg{};
  bool utf8_offered = true;
  bool ok = false;
  K error = K::Syntax;
  std::string path{};  // Mailbox::to_string(); "" for the null path
  std::optional<uint64_t> size{};
  BodyType body = BodyType::SevenBit;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::Unspecified;
  std::string envid{};
  std::string auth{};
};

void PrintTo(const MailCase& c, std::ostream* os) { *os << volley::printable(c.arg); }

class ParseMail : public ::testing::TestWithParam<MailCase> {};

TEST_P(ParseMail, Table) {
  const MailCase& c = GetParam();
  const auto r = parse_mail(c.arg, c.utf8_offered);
  ASSERT_EQ(r.ok, c.ok) << r.error.detail;
  if (!r.ok) {
    EXPECT_EQ(r.error.kind, c.error) << r.error.detail;
    expect_safe_detail(r.error);
    return;
  }
  EXPECT_EQ(r.value.path.kind == PathKind::Null ? "" : r.value.path.mailbox.to_string(), c.path);
  EXPECT_EQ(r.value.size, c.size);
  EXPECT_EQ(r.value.body, c.body);
  EXPECT_EQ(r.value.smtputf8, c.smtputf8);
  EXPECT_EQ(r.value.ret, c.ret);
  EXPECT_EQ(r.value.envid, c.envid);
  EXPECT_EQ(r.value.auth, c.auth);
}

const std::string kA = "FROM:<a@b.test>";

INSTANTIATE_TEST_SUITE_P(
    Accepted, ParseMail,
    ::testing::Values(
        MailCase{.arg = kA, .ok = true, .path = "a@b.test"},
        MailCase{.arg = "from:<a@b.test>", .ok = true, .path = "a@b.test"},
        MailCase{.arg = "FROM: <a@b.test>", .ok = true, .path = "a@b.test"},
        MailCase{.arg = "FROM:   <a@b.test>", .ok = true, .path = "a@b.test"},
        MailCase{.arg = "FROM:<>", .ok = true, .path = ""},
        MailCase{.arg = "FROM:<> SIZE=0", .ok = true, .path = "", .size = 0},
        MailCase{.arg = "FROM:<@r.test:a@b.test>", .ok = true, .path = "a@b.test"},
        MailCase{.arg = kA + " SIZE=12345", .ok = true, .path = "a@b.test", .size = 12345},
        MailCase{.arg = kA + " SIZE=18446744073709551615", .ok = true, .path = "a@b.test", .size = UINT64_MAX},
        MailCase{.arg = kA + " SIZE=00000000000000000001", .ok = true, .path = "a@b.test", .size = 1},
        MailCase{.arg = kA + " BODY=8BITMIME", .ok = true, .path = "a@b.test", .body = BodyType::EightBitMime},
        MailCase{.arg = kA + " body=8bitmime", .ok = true, .path = "a@b.test", .body = BodyType::EightBitMime},
        MailCase{.arg = kA + " BODY=7BIT", .ok = true, .path = "a@b.test"},
        MailCase{.arg = kA + " SMTPUTF8", .ok = true, .path = "a@b.test", .smtputf8 = true},
        MailCase{.arg = "FROM:<ü@b.test> SMTPUTF8", .ok = true, .path = "ü@b.test", .smtputf8 = true},
        MailCase{.arg = "FROM:<a@bücher.test> smtputf8", .ok = true, .path = "a@bücher.test", .smtputf8 = true},
        MailCase{.arg = kA + " RET=HDRS ENVID=QQ314159",
                 .ok = true,
                 .path = "a@b.test",
                 .ret = DsnRet::Headers,
                 .envid = "QQ314159"},
        MailCase{.arg = kA + " RET=full", .ok = true, .path = "a@b.test", .ret = DsnRet::Full},
        MailCase{.arg = kA + " ENVID=a+2Bb+3dc", .ok = true, .path = "a@b.test", .envid = "a+b=c"},
        MailCase{.arg = kA + " ENVID=" + std::string(100, 'x'), .ok = true, .path = "a@b.test",
                 .envid = std::string(100, 'x')},
        MailCase{.arg = kA + " AUTH=<>", .ok = true, .path = "a@b.test", .auth = "<>"},
        MailCase{.arg = kA + " AUTH=e+3Dmc2@example.com", .ok = true, .path = "a@b.test", .auth = "e=mc2@example.com"},
        MailCase{.arg = kA + "   SIZE=1    BODY=7BIT  ", .ok = true, .path = "a@b.test", .size = 1},
        MailCase{.arg = kA + " SIZE=1 BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=x AUTH=<>",
                 .ok = true,
                 .path = "a@b.test",
                 .size = 1,
                 .body = BodyType::EightBitMime,
                 .smtputf8 = true,
                 .ret = DsnRet::Full,
                 .envid = "x",
                 .auth = "<>"}));

INSTANTIATE_TEST_SUITE_P(
    Refused, ParseMail,
    ::testing::Values(
        MailCase{.arg = "", .error = K::Syntax}, MailCase{.arg = "FROM", .error = K::Syntax},
        MailCase{.arg = "FROM:", .error = K::Syntax}, MailCase{.arg = "TO:<a@b.test>", .error = K::Syntax},
        MailCase{.arg = "FROM:a@b.test", .error = K::Syntax}, MailCase{.arg = "FROM <a@b.test>", .error = K::Syntax},
        MailCase{.arg = "FROM :<a@b.test>", .error = K::Syntax},
        MailCase{.arg = kA + "SIZE=1", .error = K::Syntax},
        MailCase{.arg = "FROM:<;sleep 5;>", .error = K::BadAddress},
        MailCase{.arg = "FROM:<a@b.test", .error = K::BadAddress},
        MailCase{.arg = "FROM:<Postmaster>", .error = K::BadAddress},
        MailCase{.arg = "FROM:<a@b.test.>", .error = K::BadAddress},
        MailCase{.arg = "FROM:<" + std::string(65, 'a') + "@b.test>", .error = K::AddressTooLong},
        MailCase{.arg = "FROM:<ü@b.test>", .error = K::Utf8WithoutSmtpUtf8},
        MailCase{.arg = "FROM:<ü@b.test> SIZE=1", .error = K::Utf8WithoutSmtpUtf8},
        MailCase{.arg = "FROM:<ü@b.test> SMTPUTF8", .utf8_offered = false, .error = K::Utf8WithoutSmtpUtf8},
        MailCase{.arg = "FROM:<ü@b.test>", .utf8_offered = false, .error = K::Utf8WithoutSmtpUtf8},
        MailCase{.arg = "FROM:<\xC0\xAF@b.test> SMTPUTF8", .error = K::BadAddress},
        MailCase{.arg = kA + " SMTPUTF8", .utf8_offered = false, .error = K::UnknownParameter},
        MailCase{.arg = kA + " SIZE=", .error = K::BadParameterValue},
        MailCase{.arg = kA + " SIZE", .error = K::BadParameterValue},
        MailCase{.arg = kA + " SIZE=abc", .error = K::BadParameterValue},
        MailCase{.arg = kA + " SIZE=-1", .error = K::BadParameterValue},
        MailCase{.arg = kA + " SIZE=1k", .error = K::BadParameterValue},
        MailCase{.arg = kA + " SIZE=18446744073709551616", .error = K::BadParameterValue},
        MailCase{.arg = kA + " SIZE=000000000000000000001", .error = K::BadParameterValue},
        MailCase{.arg = kA + " SIZE=1 SIZE=2", .error = K::DuplicateParameter},
        MailCase{.arg = kA + " size=1 SIZE=1", .error = K::DuplicateParameter},
        MailCase{.arg = kA + " SMTPUTF8 SMTPUTF8", .error = K::DuplicateParameter},
        MailCase{.arg = kA + " BODY=BINARYMIME", .error = K::BadParameterValue},
        MailCase{.arg = kA + " BODY=8BIT", .error = K::BadParameterValue},
        MailCase{.arg = kA + " BODY", .error = K::BadParameterValue},
        MailCase{.arg = kA + " SMTPUTF8=yes", .error = K::BadParameterValue},
        MailCase{.arg = kA + " SMTPUTF8=", .error = K::BadParameterValue},
        MailCase{.arg = kA + " RET=NONE", .error = K::BadParameterValue},
        MailCase{.arg = kA + " RET", .error = K::BadParameterValue},
        MailCase{.arg = kA + " ENVID=a+", .error = K::BadParameterValue},
        MailCase{.arg = kA + " ENVID=a+4", .error = K::BadParameterValue},
        MailCase{.arg = kA + " ENVID=a=b", .error = K::BadParameterValue},
        MailCase{.arg = kA + " ENVID=+00", .error = K::BadParameterValue},
        MailCase{.arg = kA + " ENVID=+C3+A9", .error = K::BadParameterValue},
        MailCase{.arg = kA + " ENVID=" + std::string(101, 'x'), .error = K::BadParameterValue},
        MailCase{.arg = kA + " AUTH=+0D+0A", .error = K::BadParameterValue},
        MailCase{.arg = kA + " AUTH=", .error = K::BadParameterValue},
        MailCase{.arg = kA + " XFOO=1", .error = K::UnknownParameter},
        MailCase{.arg = kA + " FOO", .error = K::UnknownParameter},
        MailCase{.arg = kA + " SIZE=1 FOO", .error = K::UnknownParameter},
        MailCase{.arg = kA + " NOTIFY=NEVER", .error = K::UnknownParameter},
        MailCase{.arg = kA + " =1", .error = K::Syntax}, MailCase{.arg = kA + " -X=1", .error = K::Syntax},
        MailCase{.arg = kA + " S_Z=1", .error = K::Syntax},
        MailCase{.arg = kA + " SIZE=1\tBODY=7BIT", .error = K::BadParameterValue},
        // Parameters are judged before the SMTPUTF8 requirement.
        MailCase{.arg = "FROM:<ü@b.test> SIZE=abc SMTPUTF8", .error = K::BadParameterValue}));

// ---------------------------------------------------------------- parse_rcpt

struct RcptCase {
  std::string arg{};
  bool smtputf8 = false;
  bool ok = false;
  K error = K::Syntax;
  PathKind kind = PathKind::Mailbox;
  std::string path{};
  unsigned notify = kNotifyUnspecified;
  std::string orcpt_type{};
  std::string orcpt_address{};
};

void PrintTo(const RcptCase& c, std::ostream* os) { *os << volley::printable(c.arg); }

class ParseRcpt : public ::testing::TestWithParam<RcptCase> {};

TEST_P(ParseRcpt, Table) {
  const RcptCase& c = GetParam();
  const auto r = parse_rcpt(c.arg, c.smtputf8);
  ASSERT_EQ(r.ok, c.ok) << r.error.detail;
  if (!r.ok) {
    EXPECT_EQ(r.error.kind, c.error) << r.error.detail;
    expect_safe_detail(r.error);
    return;
  }
  EXPECT_EQ(r.value.path.kind, c.kind);
  EXPECT_EQ(r.value.path.mailbox.to_string(), c.path);
  EXPECT_EQ(r.value.notify, c.notify);
  EXPECT_EQ(r.value.orcpt_type, c.orcpt_type);
  EXPECT_EQ(r.value.orcpt_address, c.orcpt_address);
}

const std::string kT = "TO:<a@b.test>";
constexpr unsigned kSF = kNotifySuccess | kNotifyFailure;
constexpr unsigned kSFD = kNotifySuccess | kNotifyFailure | kNotifyDelay;

INSTANTIATE_TEST_SUITE_P(
    Accepted, ParseRcpt,
    ::testing::Values(
        RcptCase{.arg = kT, .ok = true, .path = "a@b.test"},
        RcptCase{.arg = "to: <a@b.test>", .ok = true, .path = "a@b.test"},
        RcptCase{.arg = "TO:<Postmaster>", .ok = true, .kind = PathKind::Postmaster, .path = "Postmaster"},
        RcptCase{.arg = "TO:<POSTMASTER>", .ok = true, .kind = PathKind::Postmaster, .path = "POSTMASTER"},
        RcptCase{.arg = "TO:<postmaster@b.test>", .ok = true, .path = "postmaster@b.test"},
        RcptCase{.arg = "TO:<@r.test,@s.test:a@b.test>", .ok = true, .path = "a@b.test"},
        RcptCase{.arg = "TO:<ü@b.test>", .smtputf8 = true, .ok = true, .path = "ü@b.test"},
        RcptCase{.arg = kT + " NOTIFY=NEVER", .ok = true, .path = "a@b.test", .notify = kNotifyNever},
        RcptCase{.arg = kT + " notify=never", .ok = true, .path = "a@b.test", .notify = kNotifyNever},
        RcptCase{.arg = kT + " NOTIFY=SUCCESS,FAILURE", .ok = true, .path = "a@b.test", .notify = kSF},
        RcptCase{.arg = kT + " NOTIFY=delay,Failure,SUCCESS", .ok = true, .path = "a@b.test", .notify = kSFD},
        RcptCase{.arg = kT + " ORCPT=rfc822;a@b.test",
                 .ok = true,
                 .path = "a@b.test",
                 .orcpt_type = "rfc822",
                 .orcpt_address = "a@b.test"},
        RcptCase{.arg = kT + " ORCPT=RFC822;user+2Btag@b.test",
                 .ok = true,
                 .path = "a@b.test",
                 .orcpt_type = "rfc822",
                 .orcpt_address = "user+tag@b.test"},
        RcptCase{.arg = kT + " ORCPT=utf-8;a\\x{E9}@b.test",
                 .ok = true,
                 .path = "a@b.test",
                 .orcpt_type = "utf-8",
                 .orcpt_address = "aé@b.test"},
        RcptCase{.arg = kT + " ORCPT=UTF-8;\\x{1F600}@b.test",
                 .ok = true,
                 .path = "a@b.test",
                 .orcpt_type = "utf-8",
                 .orcpt_address = "\xF0\x9F\x98\x80@b.test"},
        RcptCase{.arg = kT + " ORCPT=utf-8;aé@b.test",
                 .smtputf8 = true,
                 .ok = true,
                 .path = "a@b.test",
                 .orcpt_type = "utf-8",
                 .orcpt_address = "aé@b.test"},
        RcptCase{.arg = kT + " ORCPT=rfc822;" + std::string(500, 'x'),
                 .ok = true,
                 .path = "a@b.test",
                 .orcpt_type = "rfc822",
                 .orcpt_address = std::string(500, 'x')},
        RcptCase{.arg = kT + " NOTIFY=FAILURE ORCPT=rfc822;a@b.test",
                 .ok = true,
                 .path = "a@b.test",
                 .notify = kNotifyFailure,
                 .orcpt_type = "rfc822",
                 .orcpt_address = "a@b.test"}));

INSTANTIATE_TEST_SUITE_P(
    Refused, ParseRcpt,
    ::testing::Values(
        RcptCase{.arg = "", .error = K::Syntax}, RcptCase{.arg = "FROM:<a@b.test>", .error = K::Syntax},
        RcptCase{.arg = "TO:a@b.test", .error = K::Syntax}, RcptCase{.arg = "TO:", .error = K::Syntax},
        RcptCase{.arg = kT + "NOTIFY=NEVER", .error = K::Syntax},
        RcptCase{.arg = "TO:<>", .error = K::BadAddress}, RcptCase{.arg = "TO:<;sleep 5;>", .error = K::BadAddress},
        RcptCase{.arg = "TO:<a@b..test>", .error = K::BadAddress},
        RcptCase{.arg = "TO:<" + std::string(65, 'a') + "@b.test>", .error = K::AddressTooLong},
        RcptCase{.arg = "TO:<ü@b.test>", .error = K::Utf8WithoutSmtpUtf8},
        RcptCase{.arg = kT + " NOTIFY=NEVER,SUCCESS", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " NOTIFY=DELAY,never", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " NOTIFY=", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " NOTIFY", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " NOTIFY=SUCCESS,", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " NOTIFY=,SUCCESS", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " NOTIFY=FOO", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " NOTIFY=SUCCESS NOTIFY=DELAY", .error = K::DuplicateParameter},
        RcptCase{.arg = kT + " ORCPT=rfc822", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=;a@b.test", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=rfc822;", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=rf(c;a@b.test", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=rfc822;a+0Ab", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=rfc822;a+FFb", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=rfc822;a=b", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=rfc822;" + std::string(501, 'x'), .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=utf-8;aé@b.test", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=utf-8;\\x{D800}", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=utf-8;\\x{110000}", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=utf-8;\\x{}", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=utf-8;\\x{41", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=utf-8;\\x{0000041}", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=utf-8;a\\b", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=utf-8;\\x{7}", .error = K::BadParameterValue},
        RcptCase{.arg = kT + " ORCPT=rfc822;a ORCPT=rfc822;b", .error = K::DuplicateParameter},
        RcptCase{.arg = kT + " SIZE=1", .error = K::UnknownParameter},
        RcptCase{.arg = kT + " BODY=7BIT", .error = K::UnknownParameter},
        RcptCase{.arg = kT + " XFOO", .error = K::UnknownParameter}));

// ---------------------------------------------------------------- parse_bdat

struct BdatCase {
  std::string arg{};
  bool ok;
  K error = K::Syntax;
  uint64_t size = 0;
  bool last = false;
};

void PrintTo(const BdatCase& c, std::ostream* os) { *os << volley::printable(c.arg); }

class ParseBdat : public ::testing::TestWithParam<BdatCase> {};

TEST_P(ParseBdat, Table) {
  const BdatCase& c = GetParam();
  const auto r = parse_bdat(c.arg);
  ASSERT_EQ(r.ok, c.ok) << r.error.detail;
  if (!r.ok) {
    EXPECT_EQ(r.error.kind, c.error);
    expect_safe_detail(r.error);
    return;
  }
  EXPECT_EQ(r.value.size, c.size);
  EXPECT_EQ(r.value.last, c.last);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseBdat,
    ::testing::Values(BdatCase{"0", true, K::Syntax, 0}, BdatCase{"100", true, K::Syntax, 100},
                      BdatCase{"100 LAST", true, K::Syntax, 100, true}, BdatCase{"0 last", true, K::Syntax, 0, true},
                      BdatCase{"100   LaSt", true, K::Syntax, 100, true},
                      BdatCase{"100 LAST ", true, K::Syntax, 100, true}, BdatCase{"7 ", true, K::Syntax, 7},
                      BdatCase{"9223372036854775807", true, K::Syntax, 9223372036854775807ULL},
                      BdatCase{"000000000000000000000000000001", true, K::Syntax, 1},
                      BdatCase{"9223372036854775808", false, K::BadParameterValue},
                      BdatCase{"18446744073709551616", false, K::BadParameterValue},
                      BdatCase{"99999999999999999999999999 LAST", false, K::BadParameterValue},
                      BdatCase{"", false, K::Syntax}, BdatCase{"LAST", false, K::Syntax},
                      BdatCase{" 100", false, K::Syntax}, BdatCase{"100 LAST X", false, K::Syntax},
                      BdatCase{"100 LASTX", false, K::Syntax}, BdatCase{"100LAST", false, K::Syntax},
                      BdatCase{"100 FIRST", false, K::Syntax}, BdatCase{"100\tLAST", false, K::Syntax},
                      BdatCase{"-1", false, K::Syntax}, BdatCase{"+1", false, K::Syntax},
                      BdatCase{"1.5", false, K::Syntax}, BdatCase{"0x10", false, K::Syntax},
                      BdatCase{"1 2", false, K::Syntax}));

// ------------------------------------------------------------------- xtext

struct XtextCase {
  std::string encoded;
  std::optional<std::string> decoded;
};

void PrintTo(const XtextCase& c, std::ostream* os) { *os << volley::printable(c.encoded); }

class DecodeXtext : public ::testing::TestWithParam<XtextCase> {};

TEST_P(DecodeXtext, Table) { EXPECT_EQ(decode_xtext(GetParam().encoded), GetParam().decoded); }

INSTANTIATE_TEST_SUITE_P(
    Table, DecodeXtext,
    ::testing::Values(XtextCase{"", ""}, XtextCase{"abc", "abc"}, XtextCase{"a+2Bb", "a+b"}, XtextCase{"+3D", "="},
                      XtextCase{"+2b+2B", "++"}, XtextCase{"+00", std::string(1, '\0')},
                      XtextCase{"<>", "<>"}, XtextCase{"!~", "!~"}, XtextCase{"+C3+A9", "\xC3\xA9"},
                      XtextCase{"a+", std::nullopt}, XtextCase{"a+2", std::nullopt},
                      XtextCase{"a+GG", std::nullopt}, XtextCase{"a+-1", std::nullopt},
                      XtextCase{"a=b", std::nullopt}, XtextCase{"a b", std::nullopt},
                      XtextCase{"\xC3\xA9", std::nullopt}, XtextCase{"a\tb", std::nullopt},
                      XtextCase{"\x7f", std::nullopt}));

TEST(EncodeXtext, EscapesSpecialsAndNonPrintables) {
  EXPECT_EQ(encode_xtext("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(encode_xtext("é"), "+C3+A9");
  EXPECT_EQ(encode_xtext("user@example.com"), "user@example.com");
}

TEST(EncodeXtext, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(decode_xtext(encode_xtext(all)), all);
}

}  // namespace
}  // namespace volley::smtp
