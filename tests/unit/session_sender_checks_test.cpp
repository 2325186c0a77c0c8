// The session's side of inbound sender checks (issue 10, point 2), with a
// fake SenderChecks: which clients are checked, what the job is fed (the
// body only, also when the message streams to disk), that the header block
// edit (removing a forged Authentication-Results) reaches the queue, where
// the verdict's header goes, and that a refusal queues nothing and leaves no
// body file.
#include <gtest/gtest.h>

#include <string>

#include "session_driver.hpp"

namespace volley::smtp {
namespace {

using test::Dialogue;

class RecordingJob : public SenderChecks::Job {
 public:
  explicit RecordingJob(SenderChecks::Context c) : context(std::move(c)) {}
  void body(std::string_view bytes) override { fed += bytes; }
  SenderChecks::Context context;
  std::string fed;
};

// Drops every "X-Forged:" line from the header block, as the real checks
// drop our own Authentication-Results fields.
class FakeChecks : public SenderChecks {
 public:
  std::unique_ptr<Job> begin(std::string& header_block, Context c) const override {
    ++begun;
    header_block_seen = header_block;
    for (size_t at; (at = header_block.find("X-Forged: yes\r\n")) != std::string::npos;) header_block.erase(at, 15);
    return std::make_unique<RecordingJob>(std::move(c));
  }
  mutable int begun = 0;
  mutable std::string header_block_seen;
};

const std::string kHeaders = "From: a@sender.test\r\nX-Forged: yes\r\nSubject: s\r\n\r\n";

std::vector<std::string> inbound(const std::string& content, const std::string& from = "a@sender.test") {
  return {"EHLO mta.sender.test\r\n", "MAIL FROM:<" + from + ">\r\n", "RCPT TO:<u@local.test>\r\n", "DATA\r\n",
          content + ".\r\n", "QUIT\r\n"};
}

const RecordingJob& job(const Dialogue& d) { return static_cast<const RecordingJob&>(*d.checked.at(0)); }

TEST(SessionSenderChecks, AcceptedMessageCarriesTheHeaderAfterOurReceived) {
  FakeChecks checks;
  Dialogue d(config::SmtpRole::Mx);
  d.settings.checks = &checks;
  d.verdict = SenderVerdict{SenderVerdict::Kind::Accept, "Authentication-Results: mx.test; spf=pass\r\n", {}};
  std::string q = d.run(inbound(kHeaders + "body line\r\n"));
  ASSERT_EQ(checks.begun, 1);
  EXPECT_EQ(checks.header_block_seen, kHeaders);
  EXPECT_EQ(job(d).fed, "body line\r\n");
  EXPECT_EQ(job(d).context.client_ip, "192.0.2.7");
  EXPECT_EQ(job(d).context.helo, "mta.sender.test");
  EXPECT_EQ(job(d).context.mail_from, "a@sender.test");
  ASSERT_TRUE(q.starts_with("Received: ")) << q;
  const size_t ar = q.find("Authentication-Results: mx.test; spf=pass\r\nFrom: a@sender.test\r\n");
  ASSERT_NE(ar, std::string::npos) << q;
  EXPECT_EQ(q.find("Received:", 1), std::string::npos);
  EXPECT_LT(q.find("Received:"), ar);
  EXPECT_EQ(q.find("X-Forged"), std::string::npos) << "the header block edit is what gets queued";
  EXPECT_NE(d.out.find("250 2.0.0 Ok: queued"), std::string::npos);
}

TEST(SessionSenderChecks, RefusalQueuesNothing) {
  FakeChecks checks;
  Dialogue d(config::SmtpRole::Mx);
  d.settings.checks = &checks;
  d.verdict.kind = SenderVerdict::Kind::Refuse;
  d.verdict.refusal = Reply(550, "5.7.1", "DMARC policy of sender.test says reject");
  std::string q = d.run(inbound(kHeaders + "x\r\n"));
  EXPECT_TRUE(q.empty());
  EXPECT_NE(d.out.find("550 5.7.1 DMARC policy of sender.test says reject"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("221"), std::string::npos) << "the session goes on after the refusal";
}

TEST(SessionSenderChecks, StreamedMessageIsFedWholeAndARefusalRemovesItsBodyFile) {
  FakeChecks checks;
  Dialogue d(config::SmtpRole::Mx, 64 * 1024);
  d.settings.checks = &checks;
  std::string body;
  for (int i = 0; body.size() < 200 * 1024; ++i) body += "line " + std::to_string(i) + "\r\n";
  d.verdict.kind = SenderVerdict::Kind::Refuse;
  d.verdict.refusal = Reply(451, "4.7.5", "DNS trouble");
  EXPECT_TRUE(d.run(inbound(kHeaders + body)).empty());
  EXPECT_EQ(job(d).fed, body);
  EXPECT_EQ(d.discards, 1);
  EXPECT_NE(d.out.find("451 4.7.5 DNS trouble"), std::string::npos);

  Dialogue ok(config::SmtpRole::Mx, 64 * 1024);
  ok.settings.checks = &checks;
  ok.verdict.header = "Authentication-Results: mx.test; dkim=pass\r\n";
  std::string q = ok.run(inbound(kHeaders + body));
  ASSERT_FALSE(ok.body_file.empty()) << "the message did not stream to disk";
  EXPECT_EQ(ok.discards, 0);
  EXPECT_NE(q.find("Authentication-Results: mx.test; dkim=pass\r\nFrom: a@sender.test\r\nSubject: s\r\n\r\nline 0"),
            std::string::npos);
}

TEST(SessionSenderChecks, OurUsersRelayNetworksAndSubmissionAreNotChecked) {
  FakeChecks checks;
  Dialogue relay(config::SmtpRole::Mx);
  relay.settings.checks = &checks;
  relay.directory.relay = true;
  EXPECT_FALSE(relay.run(inbound(kHeaders + "x\r\n")).empty());

  Dialogue sub(config::SmtpRole::Submission);
  sub.settings.checks = &checks;
  EXPECT_FALSE(sub.run({"EHLO c\r\n", "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHB3\r\n", "MAIL FROM:<alice@example.com>\r\n",
                        "RCPT TO:<u@local.test>\r\n", "DATA\r\n", kHeaders + "x\r\n.\r\n", "QUIT\r\n"})
                   .empty())
      << sub.out;
  EXPECT_EQ(checks.begun, 0);
}

}  // namespace
}  // namespace volley::smtp
