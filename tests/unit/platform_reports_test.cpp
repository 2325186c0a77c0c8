#include "platform/reports.hpp"

#include <gtest/gtest.h>

#include <string>

#include "delivery/dsn.hpp"
#include "platform/limits.hpp"
#include "platform/verp.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

const std::string kSecret(32, 's');

std::string original_message() {
  return "Return-Path: <bounces+0123456789ABCDEFGHIJ-3-abcdefghijklmnop@bounce.example.com>\r\n"
         "From: News <news@example.com>\r\n"
         "To: user@example.net\r\n"
         "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
         "Message-Id: <abc123@example.com>\r\n"
         "List-Unsubscribe: <https://mail.example.com/unsubscribe/AbC-_12>, <mailto:u@example.com>\r\n"
         "X-Volley-Campaign: c42\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "Hello\r\n";
}

std::string arf(const std::string& third_part_type, const std::string& third_part) {
  return concat(
      "From: <abuse@mail.example.net>\r\n"
      "To: <fbl@example.com>\r\n"
      "Subject: FW: Grüße\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/report; report-type=feedback-report;\r\n"
      "\tboundary=\"part1_13d.2e68ed54_boundary\"\r\n"
      "\r\n"
      "--part1_13d.2e68ed54_boundary\r\n"
      "Content-Type: text/plain; charset=\"US-ASCII\"\r\n"
      "Content-Transfer-Encoding: 7bit\r\n"
      "\r\n"
      "This is an email abuse report for an email message received from IP\r\n"
      "192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.\r\n"
      "\r\n"
      "--part1_13d.2e68ed54_boundary\r\n"
      "Content-Type: message/feedback-report\r\n"
      "\r\n"
      "Feedback-Type: Abuse\r\n"
      "User-Agent: SomeGenerator/1.0\r\n"
      "Version: 1\r\n"
      "Original-Mail-From: <bounces+0123456789ABCDEFGHIJ-3-abcdefghijklmnop@bounce.example.com>\r\n"
      "Original-Rcpt-To: <user@example.net>\r\n"
      "Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT\r\n"
      "Reported-Domain: example.com\r\n"
      "Source-IP: 192.0.2.1\r\n"
      "\r\n"
      "--part1_13d.2e68ed54_boundary\r\n"
      "Content-Type: ",
      third_part_type,
      "\r\n"
      "Content-Disposition: inline\r\n"
      "\r\n",
      third_part,
      "\r\n"
      "--part1_13d.2e68ed54_boundary--\r\n");
}

TEST(PlatformReports, ArfWithWholeOriginal) {
  auto r = parse_arf(arf("message/rfc822", original_message()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->feedback_type, "abuse");
  EXPECT_EQ(r->user_agent, "SomeGenerator/1.0");
  EXPECT_EQ(r->version, "1");
  EXPECT_EQ(r->original_mail_from, "bounces+0123456789ABCDEFGHIJ-3-abcdefghijklmnop@bounce.example.com");
  EXPECT_EQ(r->original_rcpt_to, "user@example.net");
  EXPECT_EQ(r->arrival_date, "Thu, 8 Mar 2005 14:00:00 EDT");
  EXPECT_EQ(r->source_ip, "192.0.2.1");
  EXPECT_EQ(r->verp_local_part, "bounces+0123456789ABCDEFGHIJ-3-abcdefghijklmnop");
  EXPECT_EQ(r->original.message_id, "abc123@example.com");
  EXPECT_EQ(r->original.unsubscribe_token, "AbC-_12");
  EXPECT_EQ(r->original.subject, "Grüße");
  ASSERT_EQ(r->original.volley_headers.size(), 1u);
  EXPECT_EQ(r->original.volley_headers[0].second, "c42");
}

TEST(PlatformReports, ArfWithHeadersOnlyAndARealVerpAddress) {
  const std::string verp = bounce_address(kSecret, "Q1", 7, "bounce.example.com").value();
  std::string headers = original_message();
  headers = concat("Return-Path: <", verp, ">\r\n", headers.substr(headers.find("\r\n") + 2));
  headers = headers.substr(0, headers.find("\r\n\r\n") + 2);
  auto r = parse_arf(arf("text/rfc822-headers", headers));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->original.return_path, verp);
  EXPECT_EQ(r->original.message_id, "abc123@example.com");
  auto target = parse_bounce_address(kSecret, r->original.verp_local_part);
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target.value(), (BounceTarget{"Q1", 7}));
}

// A DSN request from our own generator around `original` (a view: the
// caller keeps the string alive).
delivery::DsnRequest dsn_request(std::string_view original, const char* ret) {
  delivery::DsnRequest req;
  req.reporting_mta = "mx.example.net";
  req.queue_id = "0123456789ABCDEFGHIJ";
  req.sender = "bounces+x@bounce.example.com";
  req.original = original;
  req.now = 1'700'000'000;
  req.ret = ret;
  return req;
}

TEST(PlatformReports, DsnFromOurOwnGenerator) {
  const std::string original = original_message();
  delivery::DsnRequest req = dsn_request(original, "HDRS");
  req.recipients.push_back({"user@example.net", "", "", delivery::DsnAction::Failed, "5.1.1", "mx.example.net",
                            "550 5.1.1 The email account that you tried to reach does not exist", "", 0, 0});
  req.recipients.push_back({"other@example.net", "rfc822", "Other@example.net", delivery::DsnAction::Delayed, "4.2.2",
                            "", "452 4.2.2 Mailbox full", "", 0, 0});
  auto r = parse_dsn(delivery::build_dsn(req));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->reporting_mta, "mx.example.net");
  ASSERT_EQ(r->recipients.size(), 2u);
  EXPECT_EQ(r->recipients[0].final_recipient, "user@example.net");
  EXPECT_EQ(r->recipients[0].action, "failed");
  EXPECT_EQ(r->recipients[0].status, "5.1.1");
  EXPECT_EQ(r->recipients[0].diagnostic_code, "550 5.1.1 The email account that you tried to reach does not exist");
  EXPECT_EQ(r->recipients[1].original_recipient, "Other@example.net");
  EXPECT_EQ(r->recipients[1].action, "delayed");
  EXPECT_EQ(r->original.message_id, "abc123@example.com");
  EXPECT_EQ(r->original.verp_local_part, "bounces+0123456789ABCDEFGHIJ-3-abcdefghijklmnop");
  EXPECT_EQ(r->original.unsubscribe_token, "AbC-_12");
}

TEST(PlatformReports, DsnWithWholeOriginal) {
  const std::string original = original_message();
  delivery::DsnRequest req = dsn_request(original, "FULL");
  req.recipients.push_back({"user@example.net", "", "", delivery::DsnAction::Failed, "5.1.1", "", "", "", 0, 0});
  auto r = parse_dsn(delivery::build_dsn(req));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->original.message_id, "abc123@example.com");
  EXPECT_EQ(r->recipients[0].diagnostic_code, "");
}

TEST(PlatformReports, RefusesWhatIsNotTheReport) {
  EXPECT_FALSE(parse_dsn(original_message()).ok());
  EXPECT_FALSE(parse_arf("").ok());
  // An ARF is not a DSN and the other way round.
  EXPECT_FALSE(parse_dsn(arf("message/rfc822", original_message())).ok());
  // No Feedback-Type.
  std::string no_type = arf("message/rfc822", original_message());
  no_type.replace(no_type.find("Feedback-Type: Abuse"), 20, "X-Nothing: here");
  EXPECT_FALSE(parse_arf(no_type).ok());
  EXPECT_FALSE(parse_arf(std::string(kMaxReportBytes + 1, 'a')).ok());
}

TEST(PlatformReports, DeepNestingIsRefusedBeforeGMimeRecurses) {
  std::string nested;
  for (int i = 0; i < 1000; ++i)
    nested += concat("Content-Type: multipart/mixed; boundary=b", std::to_string(i), "\r\n\r\n--b", std::to_string(i),
                     "\r\n");
  auto r = parse_arf(arf("message/rfc822", nested));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "report nests too deeply");
}

TEST(PlatformReports, FieldBlocks) {
  auto blocks = parse_field_blocks("Reporting-MTA: dns; a\r\n\r\n\r\nFinal-Recipient: rfc822; x@y\r\n"
                                   "Diagnostic-Code: smtp; 550 a\r\n  folded\r\nno colon line\r\n\r\nAction: failed\n",
                                   10);
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[1][1], (std::pair<std::string, std::string>{"diagnostic-code", "smtp; 550 a folded"}));
  EXPECT_EQ(parse_field_blocks("a: 1\n\nb: 2\n\nc: 3\n", 2).size(), 2u);
}

}  // namespace
}  // namespace volley::platform
