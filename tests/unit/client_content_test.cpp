#include "delivery/client_content.hpp"

#include <gtest/gtest.h>

#include <string>

#include "util/strings.hpp"

namespace volley::delivery {
namespace {

struct ScanCase {
  std::string content;
  bool eight_bit;
  size_t longest_line;
};

void PrintTo(const ScanCase& c, std::ostream* os) { *os << volley::printable(c.content); }

class ScanContent : public ::testing::TestWithParam<ScanCase> {};

TEST_P(ScanContent, Table) {
  const ScanCase& c = GetParam();
  const ContentTraits t = scan_content(c.content);
  EXPECT_EQ(t.eight_bit, c.eight_bit);
  EXPECT_EQ(t.longest_line, c.longest_line);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ScanContent,
    ::testing::Values(ScanCase{"", false, 0}, ScanCase{"\r\n", false, 0}, ScanCase{"abc\r\n", false, 3},
                      ScanCase{"abc", false, 3}, ScanCase{"a\r\nbcdef\r\nxy", false, 5},
                      ScanCase{"a\nbb\n", false, 2},
                      // A CR not followed by LF is part of the line.
                      ScanCase{"abc\r", false, 4}, ScanCase{"a\rb\r\n", false, 3},
                      ScanCase{"\x80", true, 1}, ScanCase{"caf\xc3\xa9\r\n", true, 5},
                      // 8-bit bytes in the word-at-a-time part and in the tail of a long line.
                      ScanCase{"0123456789abcdef\xff" "0123456\r\n", true, 24},
                      ScanCase{"0123456789abcdef01234\xff\r\n", true, 22},
                      ScanCase{"ascii\r\nascii\r\n\xe2\x82\xac\r\n", true, 5},
                      ScanCase{std::string("\x7f\x01\x00\t\r\n", 6), false, 4}));

TEST(ScanContent, LongLinesAndLargeContent) {
  std::string content;
  for (int i = 0; i < 1000; ++i) content += std::string(static_cast<size_t>(i), 'x') + "\r\n";
  content += std::string(5000, 'y');
  ContentTraits t = scan_content(content);
  EXPECT_FALSE(t.eight_bit);
  EXPECT_EQ(t.longest_line, 5000u);
  content[123456] = static_cast<char>(0xC3);
  t = scan_content(content);
  EXPECT_TRUE(t.eight_bit);
}

// ----------------------------------------------------------------- verdicts

queue::Envelope envelope(bool smtputf8, std::string sender = "s@example.com", std::string rcpt = "r@example.org") {
  queue::Envelope env;
  env.sender = std::move(sender);
  env.smtputf8 = smtputf8;
  queue::Recipient r;
  r.address = std::move(rcpt);
  env.recipients.push_back(r);
  return env;
}

ServerCapabilities caps(bool eight_bit_mime, bool smtputf8, uint64_t max_size = 0, bool size = false) {
  ServerCapabilities c;
  c.esmtp = true;
  c.eight_bit_mime = eight_bit_mime;
  c.smtputf8 = smtputf8;
  c.size = size;
  c.max_size = max_size;
  return c;
}

struct VerdictCase {
  const char* name;
  queue::Envelope env;
  ContentTraits traits;
  uint64_t content_size;
  ServerCapabilities caps;
  ContentVerdict want;
};

void PrintTo(const VerdictCase& c, std::ostream* os) { *os << c.name; }

class CheckContent : public ::testing::TestWithParam<VerdictCase> {};

TEST_P(CheckContent, Table) {
  const VerdictCase& c = GetParam();
  EXPECT_EQ(check_content(c.env, c.traits, c.content_size, c.caps), c.want);
}

constexpr ContentTraits k7Bit{false, 78};
constexpr ContentTraits k8Bit{true, 78};

INSTANTIATE_TEST_SUITE_P(
    Table, CheckContent,
    ::testing::Values(
        VerdictCase{"7bit to anyone", envelope(false), k7Bit, 100, caps(false, false), ContentVerdict::Send},
        VerdictCase{"7bit after HELO", envelope(false), k7Bit, 100, ServerCapabilities{}, ContentVerdict::Send},
        VerdictCase{"8bit to 8BITMIME", envelope(false), k8Bit, 100, caps(true, false), ContentVerdict::Send},
        VerdictCase{"8bit to 7bit server", envelope(false), k8Bit, 100, caps(false, true),
                    ContentVerdict::NeedsEightBitMime},
        VerdictCase{"8bit after HELO", envelope(false), k8Bit, 100, ServerCapabilities{},
                    ContentVerdict::NeedsEightBitMime},
        VerdictCase{"SMTPUTF8 flag to server without", envelope(true), k7Bit, 100, caps(true, false),
                    ContentVerdict::NeedsSmtpUtf8},
        VerdictCase{"SMTPUTF8 to server with", envelope(true), k8Bit, 100, caps(true, true), ContentVerdict::Send},
        VerdictCase{"UTF-8 sender without flag", envelope(false, "j\xc3\xb6rg@example.com"), k7Bit, 100,
                    caps(true, false), ContentVerdict::NeedsSmtpUtf8},
        VerdictCase{"UTF-8 recipient without flag", envelope(false, "s@x", "\xc3\xa9@example.org"), k7Bit, 100,
                    caps(true, false), ContentVerdict::NeedsSmtpUtf8},
        VerdictCase{"SMTPUTF8 checked before 8BITMIME", envelope(true), k8Bit, 100, caps(false, false),
                    ContentVerdict::NeedsSmtpUtf8},
        VerdictCase{"too big", envelope(false), k7Bit, 1001, caps(false, false, 1000, true), ContentVerdict::TooBig},
        VerdictCase{"exactly the limit", envelope(false), k7Bit, 1000, caps(false, false, 1000, true),
                    ContentVerdict::Send},
        VerdictCase{"SIZE without limit", envelope(false), k7Bit, 1u << 30, caps(false, false, 0, true),
                    ContentVerdict::Send},
        VerdictCase{"limit without SIZE keyword", envelope(false), k7Bit, 1001, caps(false, false, 1000, false),
                    ContentVerdict::Send},
        VerdictCase{"8BITMIME checked before size", envelope(false), k8Bit, 1001, caps(false, false, 1000, true),
                    ContentVerdict::NeedsEightBitMime},
        VerdictCase{"long lines are sent", envelope(false), ContentTraits{false, 100000}, 200000,
                    caps(false, false), ContentVerdict::Send}));

TEST(ContentVerdict, StatusAndReason) {
  EXPECT_STREQ(verdict_status(ContentVerdict::Send), "");
  EXPECT_STREQ(verdict_status(ContentVerdict::NeedsEightBitMime), "5.6.3");
  EXPECT_STREQ(verdict_status(ContentVerdict::NeedsSmtpUtf8), "5.6.7");
  EXPECT_STREQ(verdict_status(ContentVerdict::TooBig), "5.3.4");
  EXPECT_STREQ(verdict_reason(ContentVerdict::Send), "");
  for (ContentVerdict v : {ContentVerdict::NeedsEightBitMime, ContentVerdict::NeedsSmtpUtf8, ContentVerdict::TooBig})
    EXPECT_GT(std::string(verdict_reason(v)).size(), 10u);
}

TEST(EnvelopeNeedsSmtpUtf8, Table) {
  EXPECT_FALSE(envelope_needs_smtputf8(envelope(false)));
  EXPECT_FALSE(envelope_needs_smtputf8(envelope(false, "")));
  EXPECT_TRUE(envelope_needs_smtputf8(envelope(true)));
  EXPECT_TRUE(envelope_needs_smtputf8(envelope(false, "\xc3\xa9@x")));
  queue::Envelope env = envelope(false);
  queue::Recipient second;
  second.address = "\xe4\xb8\xad@example.cn";
  env.recipients.push_back(second);
  EXPECT_TRUE(envelope_needs_smtputf8(env));
}

}  // namespace
}  // namespace volley::delivery
