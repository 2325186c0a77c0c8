// Mail that comes back to the sending platform: which addresses it takes at
// RCPT (a table through a real RecipientDirectory and smtp::Session), and
// what the report target makes of DSNs, plain-text bounces, ARF complaints
// and mailto unsubscribes against a real platform database in a temp dir.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/user_directory.hpp"
#include "delivery/delivery_target.hpp"
#include "inbound/recipient_directory.hpp"
#include "platform/limits.hpp"
#include "platform/report_address.hpp"
#include "platform/report_target.hpp"
#include "platform/return_path.hpp"
#include "platform/unsubscribe_token.hpp"
#include "platform/verp.hpp"
#include "queue/queue_id.hpp"
#include "session_driver.hpp"
#include "temp_dir.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

const std::string kSecret(32, 'k');

// ---- which addresses are the platform's -----------------------------------

TEST(ReportAddress, Classification) {
  ReportAddressRules rules{kSecret, "fbl@local.test", {"local.test", "brand.test"}};
  const std::string good = bounce_address(kSecret, "0123456789ABCDEFGHIJ", 0, "anywhere.example").value();
  std::string bad = good;
  bad[bad.find('@') - 1] = bad[bad.find('@') - 1] == 'a' ? 'b' : 'a';
  const std::string other_secret = bounce_address(std::string(32, 'x'), "0123456789ABCDEFGHIJ", 0, "a.example").value();
  struct Row {
    std::string address;
    ReportKind kind;
  } rows[] = {
      {good, ReportKind::Bounce},
      {to_upper(good), ReportKind::Bounce},  // receivers may change the case
      {bad, ReportKind::None},
      {other_secret, ReportKind::None},
      {"bounces+@local.test", ReportKind::None},
      {good.substr(std::string("bounces+").size()), ReportKind::None},  // the prefix is required
      {"fbl@local.test", ReportKind::Complaint},
      {"fbl@LOCAL.Test", ReportKind::Complaint},
      {"FBL@local.test", ReportKind::None},  // the local part exactly
      {"fbl@other.test", ReportKind::None},
      {"unsubscribe@local.test", ReportKind::Unsubscribe},
      {"Unsubscribe@Brand.TEST", ReportKind::Unsubscribe},
      {"unsubscribe@elsewhere.example", ReportKind::None},
      {"someone@local.test", ReportKind::None},
      {"no-at-sign", ReportKind::None},
  };
  for (const auto& r : rows) EXPECT_EQ(classify_report_address(rules, r.address), r.kind) << r.address;
  // Without the platform's secret nothing is a report address.
  EXPECT_EQ(classify_report_address(ReportAddressRules{"", "fbl@local.test", {"local.test"}}, "fbl@local.test"),
            ReportKind::None);
}

class Users : public auth::UserSource {
 public:
  explicit Users(std::vector<std::string> addresses) {
    for (auto& a : addresses) {
      auth::UserRecord r;
      r.address = a;
      users_.push_back(r);
    }
  }
  Result<uint64_t> version() override { return uint64_t{1}; }
  Result<std::vector<auth::UserRecord>> load_all() override { return users_; }

 private:
  std::vector<auth::UserRecord> users_;
};

// RCPT at an MX listener from a stranger (no relay rights).
TEST(ReportAddress, RcptAcceptance) {
  auth::UserDirectory users(std::make_unique<Users>(std::vector<std::string>{"unsubscribe@local.test", "bob@local.test"}));
  ASSERT_TRUE(users.refresh().ok());
  config::Config cfg;
  cfg.local_domains = {"local.test", "other.test"};
  cfg.api.complaints_address = "fbl@local.test";
  config::DkimKey key;
  key.domain = "Brand.test";
  cfg.dkim.push_back(key);
  cfg.aliases["unsubscribe@other.test"] = {"bob@local.test"};
  inbound::RecipientDirectory dir(cfg, users, nullptr, kSecret);

  const std::string good_local = bounce_address(kSecret, "0123456789ABCDEFGHIJ", 0, "local.test").value();
  const std::string good_remote = bounce_address(kSecret, "0123456789ABCDEFGHIJ", 0, "remote.example").value();
  const std::string bad_local = bounce_address(std::string(32, 'x'), "0123456789ABCDEFGHIJ", 0, "local.test").value();
  const std::string bad_remote = bounce_address(std::string(32, 'x'), "0123456789ABCDEFGHIJ", 0, "remote.example").value();
  struct Row {
    std::string address;
    std::string reply;  // the start of the RCPT reply
    ReportKind kind;    // what delivery will hand it to
  } rows[] = {
      {good_local, "250 2.1.5", ReportKind::Bounce},
      {good_remote, "250 2.1.5", ReportKind::Bounce},  // the MAC proves we made it: not a relay
      {bad_local, "550 5.1.1", ReportKind::None},
      {bad_remote, "550 5.7.1", ReportKind::None},
      {"fbl@local.test", "250 2.1.5", ReportKind::Complaint},
      {"fbl@LOCAL.TEST", "250 2.1.5", ReportKind::Complaint},
      {"unsubscribe@brand.test", "250 2.1.5", ReportKind::Unsubscribe},  // a [[dkim]] domain
      {"unsubscribe@local.test", "250 2.1.5", ReportKind::None},          // a real user wins
      {"unsubscribe@other.test", "250 2.1.5", ReportKind::None},          // so does an alias
      {"unsubscribe@remote.example", "550 5.7.1", ReportKind::None},
      {"nobody@local.test", "550 5.1.1", ReportKind::None},
  };
  for (const auto& r : rows) {
    test::Dialogue d(config::SmtpRole::Mx);
    d.use_directory = &dir;
    d.run({"EHLO client.example\r\n", "MAIL FROM:<>\r\n", concat("RCPT TO:<", r.address, ">\r\n")});
    const std::string last = d.out.substr(d.out.rfind("\r\n", d.out.size() - 3) + 2);
    EXPECT_EQ(last.substr(0, 9), r.reply) << r.address << ": " << last;
    EXPECT_EQ(dir.report_kind(r.address), r.kind) << r.address;
  }
  // Where a real user's unsubscribe@ goes: its mailbox.
  auto targets = dir.local_targets("unsubscribe@local.test");
  ASSERT_TRUE(targets.ok());
  EXPECT_EQ(targets->at(0), "unsubscribe@local.test");
}

// ---- the report target ----------------------------------------------------

constexpr int64_t kNow = 1'700'000'000;

struct ReportTargetTest : ::testing::Test {
  test::TempDir dir{"reports"};
  std::unique_ptr<Platform> platform;
  std::unique_ptr<ReportTarget> target;
  ReportAddressRules rules;

  void SetUp() override {
    auto p = Platform::open(dir.path);
    ASSERT_TRUE(p.ok()) << p.error().message;
    platform = std::move(*p);
    rules = ReportAddressRules{std::string(secret_bytes(*platform)), "fbl@sender.example", {"sender.example"}};
    target = std::make_unique<ReportTarget>(
        *platform, [this](std::string_view a) { return classify_report_address(rules, a); }, [] { return kNow; });
  }

  // A message sent through the API to `rcpts`: its id.
  std::string sent(std::vector<std::string> rcpts, std::string campaign = "") {
    HistoryMessage m;
    m.id = queue::make_queue_id();
    m.created_at = kNow - 60;
    m.from = "news@sender.example";
    m.subject = "hello";
    m.campaign = campaign;
    for (auto& a : rcpts) {
      HistoryRecipient r;
      r.address = a;
      r.state = kStateDelivered;
      r.attempts = 1;
      m.recipients.push_back(r);
    }
    EXPECT_TRUE(platform->history().record(m).ok());
    return m.id;
  }
  std::string return_path(const std::string& id) {
    return return_path_for(*platform, id, "news@sender.example").value();
  }
  // Delivered through the target as the engine does it: the outcome of each recipient.
  std::vector<delivery::RcptOutcome> deliver(const std::vector<std::string>& rcpts, std::string content,
                                             std::string id = "") {
    queue::Message m;
    m.envelope.id = id.empty() ? queue::make_queue_id() : id;
    std::vector<size_t> idx;
    for (auto& a : rcpts) {
      queue::Recipient r;
      r.address = a;
      idx.push_back(m.envelope.recipients.size());
      m.envelope.recipients.push_back(r);
    }
    m.content = std::move(content);
    return delivery::deliver_through(*target, m, idx);
  }
  std::vector<Event> events_of(EventType type) {
    auto page = platform->events().list(0, &type, 100);
    EXPECT_TRUE(page.ok());
    return page->events;
  }
  std::optional<Suppression> suppressed(const std::string& address) {
    auto s = platform->suppressions().find("sender.example", address);
    EXPECT_TRUE(s.ok());
    return *s;
  }
  HistoryRecipient history_of(const std::string& id, const std::string& address) {
    auto m = platform->history().find(id);
    EXPECT_TRUE(m.ok() && m->has_value());
    for (auto& r : (*m)->recipients)
      if (r.address == address) return r;
    ADD_FAILURE() << "no " << address;
    return {};
  }
};

std::string dsn(const std::string& to, const std::vector<std::string>& blocks) {
  std::string status = "Reporting-MTA: dns; mx.example.net\r\n";
  for (const auto& b : blocks) status += concat("\r\n", b);
  return concat("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
                "To: <", to, ">\r\n"
                "Subject: Undelivered Mail Returned to Sender\r\n"
                "MIME-Version: 1.0\r\n"
                "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n"
                "\r\n"
                "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
                "--B\r\nContent-Type: message/delivery-status\r\n\r\n",
                status,
                "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
                "Return-Path: <", to, ">\r\nFrom: news@sender.example\r\nSubject: hello\r\n\r\n"
                "--B--\r\n");
}

std::string failed_block(const std::string& rcpt, const std::string& status, const std::string& diag) {
  return concat("Final-Recipient: rfc822; ", rcpt, "\r\nAction: failed\r\nStatus: ", status,
                "\r\nRemote-MTA: dns; mx.example.net\r\nDiagnostic-Code: smtp; ", diag, "\r\n");
}

TEST_F(ReportTargetTest, DsnBouncesSuppressesAndIsIdempotent) {
  const std::string id = sent({"bob@example.net"});
  const std::string rp = return_path(id);
  const std::string report = dsn(rp, {failed_block("bob@example.net", "5.1.1", "550 5.1.1 user unknown")});
  const std::string incoming = queue::make_queue_id();
  auto outs = deliver({rp}, report, incoming);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].status, delivery::Status::Sent);
  const HistoryRecipient bob = history_of(id, "bob@example.net");
  EXPECT_EQ(bob.state, kStateBounced);
  EXPECT_EQ(bob.attempts, 1);  // a report is not an attempt
  EXPECT_NE(bob.last_reply.find("550 5.1.1 user unknown"), std::string::npos);
  auto bounced = events_of(EventType::Bounced);
  ASSERT_EQ(bounced.size(), 1u);
  EXPECT_EQ(bounced[0].message_id, id);
  EXPECT_EQ(bounced[0].recipient, "bob@example.net");
  auto detail = nlohmann::json::parse(bounced[0].detail);
  EXPECT_EQ(detail["class"], "hard");
  EXPECT_EQ(detail["via"], "dsn");
  auto s = suppressed("bob@example.net");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, SuppressionReason::HardBounce);
  // The same DSN again (a crash replayed it): one event.
  deliver({rp}, report, incoming);
  EXPECT_EQ(events_of(EventType::Bounced).size(), 1u);
}

TEST_F(ReportTargetTest, SoftFailureAndDelayAreNotSuppressed) {
  const std::string id = sent({"a@example.net", "b@example.net", "c@example.net"});
  const std::string rp = return_path(id);
  deliver({rp}, dsn(rp, {failed_block("A@example.net", "5.2.2", "552 5.2.2 mailbox full"),
                         "Final-Recipient: rfc822; b@example.net\r\nAction: delayed\r\nStatus: 4.4.1\r\n",
                         failed_block("stranger@example.net", "5.1.1", "550 5.1.1 unknown")}));
  EXPECT_EQ(history_of(id, "a@example.net").state, kStateBounced);  // matched without case
  EXPECT_EQ(history_of(id, "b@example.net").state, kStateDelivered);  // delayed changes no state
  EXPECT_EQ(history_of(id, "c@example.net").state, kStateDelivered);
  auto bounced = events_of(EventType::Bounced);
  ASSERT_EQ(bounced.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(bounced[0].detail)["class"], "quota");
  auto deferred = events_of(EventType::Deferred);
  ASSERT_EQ(deferred.size(), 1u);
  EXPECT_EQ(deferred[0].recipient, "b@example.net");
  EXPECT_FALSE(suppressed("a@example.net"));
}

TEST_F(ReportTargetTest, PlainTextBounceOnlyWithAPermanentReply) {
  const std::string id = sent({"bob@example.net"});
  const std::string rp = return_path(id);
  // An auto-reply (RFC 3834 sends it to the return path too) is not a bounce.
  deliver({rp}, "From: bob@example.net\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\n"
                "I am away until Monday; call 555 1234.\r\n");
  EXPECT_TRUE(events_of(EventType::Bounced).empty());
  EXPECT_EQ(history_of(id, "bob@example.net").state, kStateDelivered);
  deliver({rp}, "From: postmaster@example.net\r\nSubject: failure notice\r\n\r\n"
                "Sorry, we were unable to deliver your message.\r\n"
                "<bob@example.net>: host mx.example.net said: 550 5.1.1 The email account does not exist\r\n");
  auto bounced = events_of(EventType::Bounced);
  ASSERT_EQ(bounced.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(bounced[0].detail)["via"], "text");
  EXPECT_TRUE(suppressed("bob@example.net"));
}

TEST_F(ReportTargetTest, UnusableReportsAreDroppedButDelivered) {
  const std::string id = sent({"a@example.net", "b@example.net"});
  const std::string rp = return_path(id);
  // Not a DSN, several recipients: nothing to go on.
  auto outs = deliver({rp}, "Subject: x\r\n\r\n550 5.1.1 unknown\r\n");
  EXPECT_EQ(outs[0].status, delivery::Status::Sent);
  // A message we have no history of.
  const std::string gone = return_path_for(*platform, queue::make_queue_id(), "news@sender.example").value();
  EXPECT_EQ(deliver({gone}, dsn(gone, {failed_block("a@example.net", "5.1.1", "550 5.1.1 x")}))[0].status,
            delivery::Status::Sent);
  // Too large to be a report: dropped unread.
  std::string huge = dsn(rp, {failed_block("a@example.net", "5.1.1", "550 5.1.1 x")});
  huge += std::string(kMaxReportBytes, 'x');
  EXPECT_EQ(deliver({rp}, huge)[0].status, delivery::Status::Sent);
  EXPECT_TRUE(events_of(EventType::Bounced).empty());
}

std::string arf_report(const std::string& original_headers, const std::string& rcpt_to) {
  return concat("From: <fbl@isp.example>\r\nTo: <fbl@sender.example>\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n"
                "--F\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n"
                "--F\r\nContent-Type: message/feedback-report\r\n\r\n"
                "Feedback-Type: abuse\r\nUser-Agent: ISP-FBL/1.0\r\nVersion: 1\r\n",
                rcpt_to.empty() ? std::string() : concat("Original-Rcpt-To: <", rcpt_to, ">\r\n"),
                "\r\n--F\r\nContent-Type: text/rfc822-headers\r\n\r\n", original_headers,
                "\r\n--F--\r\n");
}

TEST_F(ReportTargetTest, ComplaintThroughTheReturnPath) {
  const std::string id = sent({"bob@example.net"}, "camp1");
  const std::string headers = concat("Return-Path: <", return_path(id), ">\r\nFrom: news@sender.example\r\n"
                                     "To: bob@example.net\r\nSubject: hello\r\n");
  const std::string incoming = queue::make_queue_id();
  EXPECT_EQ(deliver({"fbl@sender.example"}, arf_report(headers, ""), incoming)[0].status, delivery::Status::Sent);
  auto complained = events_of(EventType::Complained);
  ASSERT_EQ(complained.size(), 1u);
  EXPECT_EQ(complained[0].message_id, id);
  EXPECT_EQ(complained[0].recipient, "bob@example.net");
  EXPECT_EQ(complained[0].campaign, "camp1");
  auto s = suppressed("bob@example.net");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, SuppressionReason::Complaint);
  deliver({"fbl@sender.example"}, arf_report(headers, ""), incoming);
  EXPECT_EQ(events_of(EventType::Complained).size(), 1u);
}

TEST_F(ReportTargetTest, ComplaintThroughTheUnsubscribeTokenAndUnverifiableOnes) {
  const std::string token =
      make_unsubscribe_token(secret_bytes(*platform), UnsubscribeFields{"carol@example.net", "sender.example", "c9"}).value();
  // A forged return path, but our token in List-Unsubscribe.
  const std::string forged = bounce_address(std::string(32, 'x'), "0123456789ABCDEFGHIJ", 0, "sender.example").value();
  const std::string headers = concat("Return-Path: <", forged, ">\r\nFrom: news@sender.example\r\n",
                                     "List-Unsubscribe: <https://mail.sender.example/unsubscribe/", token, ">\r\n");
  deliver({"fbl@sender.example"}, arf_report(headers, "carol@example.net"));
  auto complained = events_of(EventType::Complained);
  ASSERT_EQ(complained.size(), 1u);
  EXPECT_EQ(complained[0].recipient, "carol@example.net");
  EXPECT_EQ(complained[0].campaign, "c9");
  EXPECT_TRUE(suppressed("carol@example.net"));
  // Nothing that verifies: dropped.
  deliver({"fbl@sender.example"}, arf_report(concat("Return-Path: <", forged, ">\r\n"), "dave@example.net"));
  EXPECT_EQ(events_of(EventType::Complained).size(), 1u);
  EXPECT_FALSE(suppressed("dave@example.net"));
}

TEST_F(ReportTargetTest, MailtoUnsubscribe) {
  const std::string token =
      make_unsubscribe_token(secret_bytes(*platform), UnsubscribeFields{"erin@example.net", "sender.example", "c1"}).value();
  deliver({"unsubscribe@sender.example"}, concat("From: erin@example.net\r\nSubject: unsubscribe ", token, "\r\n\r\n"));
  auto got = events_of(EventType::Unsubscribed);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].recipient, "erin@example.net");
  auto s = suppressed("erin@example.net");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, SuppressionReason::Unsubscribe);
  // In the body, when a client dropped the subject.
  const std::string token2 =
      make_unsubscribe_token(secret_bytes(*platform), UnsubscribeFields{"finn@example.net", "sender.example", ""}).value();
  deliver({"unsubscribe@sender.example"}, concat("Subject: Re:\r\n\r\nplease unsubscribe ", token2, "\r\n"));
  EXPECT_TRUE(suppressed("finn@example.net"));
  // A token for another sender domain does not unsubscribe from this one.
  const std::string other =
      make_unsubscribe_token(secret_bytes(*platform), UnsubscribeFields{"gus@example.net", "other.example", ""}).value();
  rules.unsubscribe_domains.push_back("else.example");
  deliver({"unsubscribe@else.example"}, concat("Subject: unsubscribe ", other, "\r\n\r\n"));
  auto any = platform->suppressions().find("other.example", "gus@example.net");
  ASSERT_TRUE(any.ok());
  EXPECT_FALSE(any->has_value());
}

}  // namespace
}  // namespace volley::platform
