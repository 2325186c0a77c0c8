// The pure readers behind the report target (platform/bounce_reading.hpp,
// platform/mailto_token.hpp): what a bounce says about a message's
// recipients, and where a mailto unsubscribe's token is looked for. The
// whole path through a real platform is platform_feedback_test.cpp's.
#include <gtest/gtest.h>

#include <string>

#include "platform/bounce_reading.hpp"
#include "platform/mailto_token.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

const std::string kSecret(32, 'k');

HistoryMessage sent_to(std::vector<std::string> addresses) {
  HistoryMessage m;
  m.id = "0123456789ABCDEFGHIJ";
  m.from = "news@sender.example";
  for (auto& a : addresses) m.recipients.push_back(HistoryRecipient{std::move(a), kStateDelivered, 1, ""});
  return m;
}

TEST(PermanentReplyLine, FirstPermanentRefusalInTheBody) {
  struct Row {
    std::string body;
    std::string line;
  } rows[] = {
      {"host said: 550 5.1.1 no such user\r\n", "550 5.1.1 no such user"},
      {"550-5.1.1 first\r\n550 5.1.1 second\r\n", "550-5.1.1 first"},
      {"  554 5.7.1 refused  \r\n", "554 5.7.1 refused"},
      {"451 4.3.0 try later\r\n", ""},          // temporary
      {"550 user unknown\r\n", ""},             // no enhanced status
      {"call 555 1234 or 5550 5.1.1\r\n", ""},  // digits run into the code
      {"1550 5.1.1 x\r\n", ""},
      {"550 5.x\r\n", ""},
      {std::string(kPlainBounceScanBytes, 'x') + "\r\n550 5.1.1 too far down\r\n", ""},
      {"550 5.1.1 " + std::string(2 * kPlainBounceReplyBytes, 'y') + "\r\n",
       "550 5.1.1 " + std::string(kPlainBounceReplyBytes - 10, 'y')},
  };
  for (const auto& r : rows)
    EXPECT_EQ(permanent_reply_line(concat("Subject: failure\r\n\r\n", r.body)), r.line) << r.body;
  EXPECT_EQ(permanent_reply_line("Subject: no body follows\r\n550 5.1.1 x\r\n"), "");
}

TEST(ReadBounce, PlainTextCountsForOneRecipientOnly) {
  const std::string text = "Subject: failure notice\r\n\r\n<bob@example.net>: 550 5.1.1 unknown\r\n";
  auto one = read_bounce(sent_to({"bob@example.net"}), text);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->via, "text");
  ASSERT_EQ(one->results.size(), 1u);
  EXPECT_EQ(one->results[0].address, "bob@example.net");
  EXPECT_EQ(one->results[0].state, queue::RecipientState::Bounced);
  EXPECT_FALSE(read_bounce(sent_to({"a@example.net", "bob@example.net"}), text).ok());
  // Suppressed recipients were never sent to: one recipient left counts.
  HistoryMessage m = sent_to({"a@example.net", "bob@example.net"});
  m.recipients[0].state = kStateSuppressed;
  auto left = read_bounce(m, text);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->results[0].address, "bob@example.net");
  EXPECT_FALSE(read_bounce(sent_to({"bob@example.net"}), "Subject: Out of office\r\n\r\nback Monday\r\n").ok());
}

TEST(ReadBounce, DsnBlocksMatchedToTheRecipients) {
  const std::string report =
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
      "--B\r\nContent-Type: text/plain\r\n\r\nnot delivered\r\n"
      "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
      "Reporting-MTA: dns; mx.example.net\r\n\r\n"
      "Final-Recipient: rfc822; A@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
      "Diagnostic-Code: smtp; 550 5.1.1 unknown\r\n\r\n"
      "Final-Recipient: rfc822; b@example.net\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
      "Final-Recipient: rfc822; c@example.net\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n"
      "Final-Recipient: rfc822; stranger@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
      "--B--\r\n";
  auto r = read_bounce(sent_to({"a@example.net", "b@example.net", "c@example.net"}), report);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->via, "dsn");
  EXPECT_EQ(r->unmatched, 1u);
  ASSERT_EQ(r->results.size(), 2u);
  EXPECT_EQ(r->results[0].address, "a@example.net");  // matched without case
  EXPECT_EQ(r->results[0].state, queue::RecipientState::Bounced);
  EXPECT_EQ(r->results[1].address, "b@example.net");
  EXPECT_EQ(r->results[1].state, queue::RecipientState::Deferred);
  // Nobody of ours named: nothing to record.
  EXPECT_FALSE(read_bounce(sent_to({"x@example.net", "y@example.net"}), report).ok());
}

TEST(MailtoToken, SubjectThenBody) {
  const UnsubscribeFields erin{"erin@example.net", "sender.example", "c1"};
  const std::string token = make_unsubscribe_token(kSecret, erin).value();
  const std::string other = make_unsubscribe_token(std::string(32, 'x'), erin).value();
  struct Row {
    std::string content;
    bool found;
  } rows[] = {
      {concat("Subject: unsubscribe ", token, "\r\n\r\n"), true},
      {concat("Subject: Re: <", token, ">.\r\n\r\n"), true},  // punctuation around it
      {concat("Subject: =?utf-8?b?", "dW5zdWJzY3JpYmUg", "?= ", token, "\r\n\r\n"), true},
      {concat("Subject: Re:\r\n\r\nplease unsubscribe ", token, "\r\n"), true},
      {concat("Subject: Re:\r\n\r\n", std::string(kMailtoBodyScanBytes, ' '), token, "\r\n"), false},
      {concat("Subject: ", other, "\r\n\r\n"), false},  // another secret's
      {concat("Subject: ", token.substr(1), "\r\n\r\n"), false},
      {concat("Subject: ", token, "x\r\n\r\n"), false},  // part of a longer run
      {concat("Subject: ", token), false},               // no end of the header block
  };
  for (const auto& r : rows) {
    auto got = find_mailto_token(kSecret, r.content);
    EXPECT_EQ(got.has_value(), r.found) << r.content;
    if (got) {
      EXPECT_EQ(*got, erin);
    }
  }
}

TEST(MailtoToken, CandidatesAreBounded) {
  const std::string token = make_unsubscribe_token(kSecret, {"erin@example.net", "sender.example", ""}).value();
  // Long enough to be tried, short enough that all fit in the body scanned.
  const std::string decoy(48, 'A');
  static_assert(kMailtoMaxCandidates * 49 < kMailtoBodyScanBytes);
  std::string body;
  for (size_t i = 0; i + 1 < kMailtoMaxCandidates; ++i) body += decoy + " ";
  EXPECT_TRUE(find_mailto_token(kSecret, concat("Subject: x\r\n\r\n", body, token, "\r\n")));
  EXPECT_FALSE(find_mailto_token(kSecret, concat("Subject: x\r\n\r\n", body, decoy, " ", token, "\r\n")));
}

}  // namespace
}  // namespace volley::platform
