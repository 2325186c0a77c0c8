// DSN builder: MIME structure, every field present or absent per input,
// RET/size rules for the returned original, hostile input neutralised, and
// the enhanced status code picked from a reply.
#include "delivery/dsn.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>
#include "util/strings.hpp"

namespace volley::delivery {
namespace {

const std::string kOriginal =
    "Received: from client ([192.0.2.1])\r\n\tby mx.local.test (Volley) with ESMTP id Q1\r\n"
    "From: Alice <alice@example.org>\r\nSubject: hello\r\n\r\nBody line 1\r\nBody line 2\r\n";

DsnRecipient failed_rcpt() {
  DsnRecipient r;
  r.final_recipient = "bob@remote.test";
  r.orcpt_type = "rfc822";
  r.orcpt_address = "Bob@Remote.Test";
  r.action = DsnAction::Failed;
  r.status = "5.1.1";
  r.remote_mta = "mx1.remote.test";
  r.diagnostic = "550 5.1.1 No such user";
  r.last_attempt = 1700000100;
  return r;
}

DsnRequest request() {
  DsnRequest q;
  q.reporting_mta = "mx.local.test";
  q.queue_id = "0ABCDEF123456789XYZ0";
  q.envid = "env-42";
  q.arrival = 1700000000;
  q.sender = "alice@example.org";
  q.recipients.push_back(failed_rcpt());
  q.original = kOriginal;
  q.now = 1700000200;
  q.message_id = "dsn.0ABCDEF@mx.local.test";
  return q;
}

// The boundary from the Content-Type header.
std::string boundary_of(const std::string& dsn) {
  const auto p = dsn.find("boundary=\"");
  if (p == std::string::npos) return "";
  const auto start = p + 10;
  return dsn.substr(start, dsn.find('"', start) - start);
}

std::string header_block(const std::string& dsn) { return dsn.substr(0, dsn.find("\r\n\r\n") + 2); }

// The bodies of the parts, split at the delimiter lines (RFC 2046 5.1.1).
std::vector<std::string> parts_of(const std::string& dsn) {
  const std::string b = boundary_of(dsn);
  std::vector<std::string> parts;
  const std::string delim = "\r\n--" + b;
  size_t pos = dsn.find(delim);
  while (pos != std::string::npos) {
    const size_t start = pos + delim.size();
    if (dsn.compare(start, 2, "--") == 0) break;  // close delimiter
    const size_t body = start + 2;                // past CRLF
    const size_t next = dsn.find(delim, body);
    parts.push_back(dsn.substr(body, next == std::string::npos ? std::string::npos : next - body));
    pos = next;
  }
  return parts;
}

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

size_t max_line_length(const std::string& s) {
  size_t longest = 0, start = 0;
  while (start < s.size()) {
    size_t end = s.find("\r\n", start);
    if (end == std::string::npos) end = s.size();
    longest = std::max(longest, end - start);
    start = end + 2;
  }
  return longest;
}

// Every LF is preceded by CR.
bool crlf_only(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;
  return true;
}

TEST(Dsn, StructureThreePartsInOrder) {
  const std::string dsn = build_dsn(request());
  const std::string b = boundary_of(dsn);
  ASSERT_FALSE(b.empty());
  EXPECT_TRUE(crlf_only(dsn));
  const std::string h = header_block(dsn);
  EXPECT_TRUE(contains(h, "From: Mail Delivery System <MAILER-DAEMON@mx.local.test>\r\n"));
  EXPECT_TRUE(contains(h, "To: <alice@example.org>\r\n"));
  EXPECT_TRUE(contains(h, "Subject: Undelivered Mail Returned to Sender\r\n"));
  EXPECT_TRUE(contains(h, "Date: Tue, 14 Nov 2023 22:16:40 +0000\r\n"));
  EXPECT_TRUE(contains(h, "Message-ID: <dsn.0ABCDEF@mx.local.test>\r\n"));
  EXPECT_TRUE(contains(h, "Auto-Submitted: auto-replied\r\n"));
  EXPECT_TRUE(contains(h, "MIME-Version: 1.0\r\n"));
  EXPECT_TRUE(contains(h, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + b + "\"\r\n"));
  EXPECT_FALSE(contains(h, "Content-Transfer-Encoding"));  // 7-bit original

  const auto parts = parts_of(dsn);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].rfind("Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", 0), 0u);
  EXPECT_EQ(parts[1].rfind("Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n", 0), 0u);
  EXPECT_EQ(parts[2], "Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n" + kOriginal);
  // The message ends with the close delimiter.
  EXPECT_TRUE(dsn.ends_with("\r\n--" + b + "--\r\n"));
  // Explanation names the recipient and the remote reply.
  EXPECT_TRUE(contains(parts[0], "<bob@remote.test>: failed (5.1.1)\r\n"));
  EXPECT_TRUE(contains(parts[0], "host mx1.remote.test said: 550 5.1.1 No such user\r\n"));
  EXPECT_TRUE(contains(parts[0], "The original message is attached."));
}

TEST(Dsn, DeliveryStatusFieldsAllPresent) {
  const auto parts = parts_of(build_dsn(request()));
  ASSERT_EQ(parts.size(), 3u);
  const std::string expected =
      "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
      "Original-Envelope-Id: env-42\r\n"
      "Reporting-MTA: dns; mx.local.test\r\n"
      "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
      "X-Volley-Queue-ID: 0ABCDEF123456789XYZ0\r\n"
      "\r\n"
      "Original-Recipient: rfc822;Bob@Remote.Test\r\n"
      "Final-Recipient: rfc822;bob@remote.test\r\n"
      "Action: failed\r\n"
      "Status: 5.1.1\r\n"
      "Remote-MTA: dns; mx1.remote.test\r\n"
      "Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n"
      "Last-Attempt-Date: Tue, 14 Nov 2023 22:15:00 +0000\r\n";
  EXPECT_EQ(parts[1], expected);
}

TEST(Dsn, OptionalFieldsAbsentWhenEmpty) {
  DsnRequest q = request();
  q.envid.clear();
  q.arrival = 0;
  q.recipients[0].orcpt_type.clear();
  q.recipients[0].orcpt_address.clear();
  q.recipients[0].remote_mta.clear();
  q.recipients[0].diagnostic.clear();
  q.recipients[0].last_attempt = 0;
  const auto parts = parts_of(build_dsn(q));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1],
            "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.local.test\r\nX-Volley-Queue-ID: 0ABCDEF123456789XYZ0\r\n\r\n"
            "Final-Recipient: rfc822;bob@remote.test\r\nAction: failed\r\nStatus: 5.1.1\r\n");
  EXPECT_FALSE(contains(parts[0], "said:"));
}

TEST(Dsn, LocalReasonGoesToTheTextNotToDiagnosticCode) {
  DsnRequest q = request();
  q.recipients[0].remote_mta.clear();
  q.recipients[0].diagnostic.clear();
  q.recipients[0].reason = "Host or domain name not found: gone.test\r\nX-Evil: 1";
  const auto parts = parts_of(build_dsn(q));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_TRUE(contains(parts[0], "Host or domain name not found: gone.test"));
  EXPECT_FALSE(contains(parts[0], "\r\nX-Evil")) << "a reason cannot inject lines";
  EXPECT_FALSE(contains(parts[1], "Diagnostic-Code")) << "Diagnostic-Code is typed smtp: server replies only";
}

TEST(Dsn, OrcptUsesTheGivenType) {
  DsnRequest q = request();
  q.recipients[0].orcpt_type = "utf-8";
  q.recipients[0].orcpt_address = "b\xc3\xb6@remote.test";
  const auto parts = parts_of(build_dsn(q));
  EXPECT_TRUE(contains(parts[1], "Original-Recipient: utf-8;b\\x{F6}@remote.test\r\n"));
  // Non-ASCII cannot be an rfc822 address: RFC 6533 utf-8 type, xtext escapes.
  q.recipients[0].orcpt_type = "rfc822";
  q.recipients[0].final_recipient = "j\xc3\xb6+x=y@r\xc3\xa9mote.test";
  const std::string dsn = build_dsn(q);
  EXPECT_TRUE(contains(dsn, "Original-Recipient: utf-8;b\\x{F6}@remote.test\r\n"));
  EXPECT_TRUE(contains(dsn, "Final-Recipient: utf-8;j\\x{F6}\\x{2B}x\\x{3D}y@r\\x{E9}mote.test\r\n"));
  // Type without an address (or the reverse) is no ORCPT at all.
  q.recipients[0].orcpt_address.clear();
  EXPECT_FALSE(contains(build_dsn(q), "Original-Recipient"));
}

TEST(Dsn, DelayedFieldsAndSubject) {
  DsnRequest q = request();
  q.recipients[0].action = DsnAction::Delayed;
  q.recipients[0].status = "4.4.1";
  q.recipients[0].diagnostic = "connect to mx1.remote.test: Connection refused";
  q.recipients[0].will_retry_until = 1700432000;
  const std::string dsn = build_dsn(q);
  EXPECT_TRUE(contains(header_block(dsn), "Subject: Delayed Mail (still being retried)\r\n"));
  const auto parts = parts_of(dsn);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_TRUE(contains(parts[1], "Action: delayed\r\nStatus: 4.4.1\r\n"));
  EXPECT_TRUE(contains(parts[1], "Will-Retry-Until: Sun, 19 Nov 2023 22:13:20 +0000\r\n"));
  EXPECT_TRUE(contains(parts[0], "will be retried until Sun, 19 Nov 2023"));
  // No RET: a delay report carries only the headers.
  EXPECT_TRUE(contains(parts[2], "Content-Type: text/rfc822-headers\r\n"));
  // Will-Retry-Until only for delayed recipients.
  q.recipients[0].action = DsnAction::Failed;
  q.recipients[0].status = "5.4.1";
  EXPECT_FALSE(contains(build_dsn(q), "Will-Retry-Until"));
}

struct SubjectCase {
  std::vector<DsnAction> actions;
  const char* subject;
  const char* third_type;  // with RET unset
};

TEST(Dsn, SubjectAndDefaultReturnPerAction) {
  const SubjectCase cases[] = {
      {{DsnAction::Failed}, "Undelivered Mail Returned to Sender", "message/rfc822"},
      {{DsnAction::Delayed}, "Delayed Mail (still being retried)", "text/rfc822-headers"},
      {{DsnAction::Delivered}, "Successful Mail Delivery Report", "text/rfc822-headers"},
      {{DsnAction::Relayed}, "Successful Mail Delivery Report", "text/rfc822-headers"},
      {{DsnAction::Delivered, DsnAction::Failed}, "Undelivered Mail Returned to Sender", "message/rfc822"},
      {{DsnAction::Delayed, DsnAction::Failed}, "Undelivered Mail Returned to Sender", "message/rfc822"},
      {{DsnAction::Delayed, DsnAction::Relayed}, "Successful Mail Delivery Report", "text/rfc822-headers"},
  };
  for (const auto& c : cases) {
    DsnRequest q = request();
    q.recipients.clear();
    int n = 0;
    for (DsnAction a : c.actions) {
      DsnRecipient r = failed_rcpt();
      r.final_recipient = concat("r", std::to_string(n++), "@remote.test");
      r.action = a;
      r.status = a == DsnAction::Failed ? "5.1.1" : a == DsnAction::Delayed ? "4.4.1" : "2.0.0";
      q.recipients.push_back(r);
    }
    const std::string dsn = build_dsn(q);
    EXPECT_TRUE(contains(header_block(dsn), std::string("Subject: ") + c.subject + "\r\n")) << c.subject;
    const auto parts = parts_of(dsn);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(contains(parts[2], std::string("Content-Type: ") + c.third_type + "\r\n")) << c.subject;
    for (size_t i = 0; i < c.actions.size(); ++i) {
      EXPECT_TRUE(contains(parts[1], "Final-Recipient: rfc822;r" + std::to_string(i) + "@remote.test\r\nAction: " +
                                         std::string(action_name(c.actions[i])) + "\r\n"));
    }
  }
}

TEST(Dsn, MalformedOrMismatchedStatusFallsBackToActionClass) {
  DsnRequest q = request();
  q.recipients[0].status = "5.1.1\r\nX-Evil: 1";
  EXPECT_TRUE(contains(build_dsn(q), "Status: 5.0.0\r\n"));
  q.recipients[0].status = "2.0.0";  // not a failure code
  EXPECT_TRUE(contains(build_dsn(q), "Status: 5.0.0\r\n"));
  q.recipients[0].status = "4.3.0";  // expired after temporary errors: the last transient status stays
  EXPECT_TRUE(contains(build_dsn(q), "Action: failed\r\nStatus: 4.3.0\r\n"));
  q.recipients[0].action = DsnAction::Delivered;  // but a success is never reported with a 4.x.x
  EXPECT_TRUE(contains(build_dsn(q), "Status: 2.0.0\r\n"));
  q.recipients[0].action = DsnAction::Failed;
  q.recipients[0].action = DsnAction::Relayed;
  q.recipients[0].status = "";
  EXPECT_TRUE(contains(build_dsn(q), "Status: 2.0.0\r\n"));
}

TEST(Dsn, RetHdrsReturnsOnlyTheHeaderBlock) {
  DsnRequest q = request();
  q.ret = "HDRS";
  const auto parts = parts_of(build_dsn(q));
  ASSERT_EQ(parts.size(), 3u);
  const std::string headers = kOriginal.substr(0, kOriginal.find("\r\n\r\n") + 4);
  EXPECT_EQ(parts[2], "Content-Description: Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n" + headers);
  EXPECT_FALSE(contains(parts[2], "Body line"));
  EXPECT_TRUE(contains(parts[0], "The headers of the original message are attached."));
}

TEST(Dsn, RetFullReturnsWholeMessageEvenForSuccess) {
  DsnRequest q = request();
  q.ret = "FULL";
  q.recipients[0].action = DsnAction::Delivered;
  q.recipients[0].status = "2.0.0";
  const auto parts = parts_of(build_dsn(q));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_TRUE(contains(parts[2], "Content-Type: message/rfc822\r\n"));
  EXPECT_TRUE(contains(parts[2], "Body line 2\r\n"));
}

TEST(Dsn, MaxOriginalBytesGivesHeadersOnlyAndSaysSo) {
  DsnRequest q = request();
  q.max_original_bytes = kOriginal.size() - 1;
  auto parts = parts_of(build_dsn(q));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_TRUE(contains(parts[2], "Content-Type: text/rfc822-headers\r\n"));
  EXPECT_FALSE(contains(parts[2], "Body line"));
  EXPECT_TRUE(contains(parts[0], "larger than " + std::to_string(kOriginal.size() - 1) + " bytes"));
  // Exactly at the limit is still returned whole.
  q.max_original_bytes = kOriginal.size();
  parts = parts_of(build_dsn(q));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_TRUE(contains(parts[2], "Body line 2"));
  // Headers alone over the limit: the third part is left out.
  q.max_original_bytes = 10;
  parts = parts_of(build_dsn(q));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_TRUE(contains(parts[0], "too large to be attached"));
}

TEST(Dsn, EightBitOriginalIsLabelled) {
  DsnRequest q = request();
  const std::string original = "Subject: caf\xc3\xa9\r\n\r\n\xff\xfe body\r\n";
  q.original = original;
  const std::string dsn = build_dsn(q);
  EXPECT_TRUE(contains(header_block(dsn), "Content-Transfer-Encoding: 8bit\r\n"));
  const auto parts = parts_of(dsn);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[2], "Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n"
                      "Content-Transfer-Encoding: 8bit\r\n\r\n" + original);
  // Everything outside the returned original is 7-bit.
  for (size_t i = 0; i < 2; ++i)
    for (char c : parts[i]) ASSERT_LT(static_cast<unsigned char>(c), 0x80);
}

TEST(Dsn, InjectionThroughDiagnosticAddressEnvidIsNeutralised) {
  DsnRequest q = request();
  q.envid = "e\r\nX-Injected: envid";
  q.sender = "alice@example.org>\r\nBcc: victim@example.net";
  q.reporting_mta = "mx\r\nX-Injected: host";
  q.message_id = "id\r\nX-Injected: mid";
  q.recipients[0].final_recipient = "bob@remote.test\r\nAction: delivered";
  q.recipients[0].orcpt_type = "rfc822\r\nX-Injected: t";
  q.recipients[0].orcpt_address = "bob\n\nFinal-Recipient: rfc822;x@y";
  q.recipients[0].remote_mta = "mx1\r\nX-Injected: mta";
  q.recipients[0].diagnostic = "550 5.1.1 no\r\n\r\n--" + std::string("=_volley_") + "\r\nX-Injected: diag\r\n\x01\x7f";
  const std::string dsn = build_dsn(q);
  EXPECT_TRUE(crlf_only(dsn));
  // No line starts with an injected field name, and the status part keeps
  // exactly two blocks (per-message, one recipient).
  EXPECT_FALSE(contains(dsn, "\r\nX-Injected"));
  EXPECT_FALSE(contains(dsn, "\r\nBcc:"));
  EXPECT_FALSE(contains(dsn, "\r\nAction: delivered"));
  const auto parts = parts_of(dsn);
  ASSERT_EQ(parts.size(), 3u);
  const std::string status = parts[1].substr(parts[1].find("\r\n\r\n") + 4);
  size_t blocks = 1;
  for (size_t p = status.find("\r\n\r\n"); p != std::string::npos; p = status.find("\r\n\r\n", p + 1)) ++blocks;
  EXPECT_EQ(blocks, 2u);
  EXPECT_TRUE(contains(status, "Diagnostic-Code: smtp; 550 5.1.1 no  --=_volley_ X-Injected: diag\r\n"));
  EXPECT_TRUE(contains(status, "Final-Recipient: rfc822;bob@remote.test Action: delivered\r\n"));
  EXPECT_TRUE(contains(status, "Action: failed\r\n"));
  for (char c : dsn) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 || c == '\r' || c == '\n' || c == '\t') << int(u);
    EXPECT_NE(u, 0x7f);
  }
}

TEST(Dsn, NonAsciiInReplyIsEscaped) {
  DsnRequest q = request();
  q.recipients[0].diagnostic = "550 5.1.1 Benutzer unbekannt: m\xc3\xbcller \xff";
  const auto parts = parts_of(build_dsn(q));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_TRUE(contains(parts[1], "Diagnostic-Code: smtp; 550 5.1.1 Benutzer unbekannt: m\\x{FC}ller ?\r\n"));
  EXPECT_TRUE(contains(parts[0], "m\\x{FC}ller ?"));
}

TEST(Dsn, LongValuesAreFoldedAndNoLineExceeds998) {
  DsnRequest q = request();
  std::string words;
  for (int i = 0; i < 200; ++i) words += "word" + std::to_string(i) + " ";
  q.recipients[0].diagnostic = "550 5.7.1 " + words;
  q.recipients[0].final_recipient = std::string(3000, 'x') + "@remote.test";  // no space to fold at
  q.envid = std::string(5000, 'e');
  q.recipients[0].orcpt_address = "a" + std::string(3000, ' ') + "b";  // no run, only a gap
  const std::string dsn = build_dsn(q);
  // The original is returned as is; everything we generated is checked.
  const std::string generated = dsn.substr(0, dsn.find("Content-Type: message/rfc822"));
  EXPECT_LE(max_line_length(generated), 998u);
  const auto parts = parts_of(dsn);
  ASSERT_EQ(parts.size(), 3u);
  // The folded diagnostic unfolds back to the value (folding kept the spaces).
  const size_t d = parts[1].find("Diagnostic-Code:");
  ASSERT_NE(d, std::string::npos);
  size_t end = d;
  while ((end = parts[1].find("\r\n", end)) != std::string::npos && end + 2 < parts[1].size() &&
         parts[1][end + 2] == ' ')
    end += 2;
  std::string unfolded = parts[1].substr(d, end - d);
  for (size_t p; (p = unfolded.find("\r\n")) != std::string::npos;) unfolded.erase(p, 2);
  EXPECT_EQ(unfolded, "Diagnostic-Code: smtp; 550 5.7.1 " + words.substr(0, words.size() - 1));
  EXPECT_GT(std::count(parts[1].begin(), parts[1].end(), '\n'), 20);
}

TEST(Dsn, BoundaryNeverOccursInContent) {
  // A first build tells us the boundary; an original containing it (and the
  // next few deterministic candidates) forces a different one.
  DsnRequest q = request();
  const std::string first = boundary_of(build_dsn(q));
  std::string hostile = "Subject: x\r\n\r\n--" + first + "\r\n";
  for (int n = 1; n < 4; ++n) hostile += "--" + first + "_" + std::to_string(n) + "\r\n";
  q.original = hostile;
  const std::string dsn = build_dsn(q);
  const std::string b = boundary_of(dsn);
  EXPECT_NE(b, first);
  EXPECT_EQ(hostile.find(b), std::string::npos);
  const auto parts = parts_of(dsn);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_TRUE(parts[2].ends_with(hostile));
  // Also when the collision comes through the remote reply.
  DsnRequest r = request();
  r.recipients[0].diagnostic = "550 5.1.1 --" + first;
  EXPECT_NE(boundary_of(build_dsn(r)), first);
  EXPECT_EQ(parts_of(build_dsn(r)).size(), 3u);
}

TEST(Dsn, NoHeaderMessageAndEmptySender) {
  DsnRequest q = request();
  q.ret = "HDRS";
  q.original = "not a header line\r\nbody\r\n";
  q.sender.clear();
  q.message_id.clear();
  const std::string dsn = build_dsn(q);
  EXPECT_TRUE(contains(header_block(dsn), "To: undisclosed-recipients:;\r\n"));
  EXPECT_TRUE(contains(header_block(dsn), "Message-ID: <0ABCDEF123456789XYZ0.dsn.1700000200@mx.local.test>\r\n"));
  const auto parts = parts_of(dsn);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[2], "Content-Description: Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n");
}

TEST(Dsn, ManyRecipientsInOneReport) {
  DsnRequest q = request();
  q.recipients.clear();
  for (int i = 0; i < 50; ++i) {
    DsnRecipient r = failed_rcpt();
    r.final_recipient = "user" + std::to_string(i) + "@remote.test";
    q.recipients.push_back(r);
  }
  const auto parts = parts_of(build_dsn(q));
  ASSERT_EQ(parts.size(), 3u);
  size_t n = 0;
  for (size_t p = parts[1].find("Final-Recipient:"); p != std::string::npos; p = parts[1].find("Final-Recipient:", p + 1)) ++n;
  EXPECT_EQ(n, 50u);
  EXPECT_TRUE(contains(parts[0], "<user49@remote.test>: failed"));
}

struct StatusCase {
  int code;
  const char* text;
  const char* want;
};

TEST(EnhancedStatus, FromReplyOrClassDefault) {
  const StatusCase cases[] = {
      {550, "5.1.1 No such user", "5.1.1"},
      {550, "5.1.1", "5.1.1"},
      {550, "  5.7.1 blocked", "5.7.1"},
      {451, "4.7.1 Try again later", "4.7.1"},
      {250, "2.0.0 Ok: queued", "2.0.0"},
      {250, "2.6.0 queued as X", "2.6.0"},
      {552, "5.3.4 Message too big", "5.3.4"},
      {554, "5.123.456 three digits", "5.123.456"},
      {550, "4.1.1 class mismatch", "5.0.0"},
      {450, "5.1.1 class mismatch", "4.0.0"},
      {550, "No such user", "5.0.0"},
      {550, "", "5.0.0"},
      {421, "mx closing connection", "4.0.0"},
      {250, "Ok", "2.0.0"},
      {550, "5.1 incomplete", "5.0.0"},
      {550, "5.1.1234 too long", "5.0.0"},
      {550, "5.1.1x trailing", "5.0.0"},
      {550, "5..1 empty", "5.0.0"},
      {550, "3.1.1 bad class", "5.0.0"},
      {354, "3.0.0 unexpected", "4.0.0"},
      {0, "connection refused", "4.0.0"},
      {550, "5.1.1\r\nmore", "5.1.1"},
  };
  for (const auto& c : cases) EXPECT_EQ(enhanced_status_of(c.code, c.text), c.want) << c.code << " " << c.text;
}

TEST(EnhancedStatus, Syntax) {
  EXPECT_TRUE(is_enhanced_status("5.1.1"));
  EXPECT_TRUE(is_enhanced_status("4.999.999"));
  EXPECT_FALSE(is_enhanced_status("5.1.1 "));
  EXPECT_FALSE(is_enhanced_status("6.1.1"));
  EXPECT_FALSE(is_enhanced_status("5.1."));
  EXPECT_FALSE(is_enhanced_status(""));
}

}  // namespace
}  // namespace volley::delivery
