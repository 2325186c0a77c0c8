// Dialogue tests of the SMTP session state machine, in-process: bytes in,
// replies out, actions carried out by a tiny fake loop (no sockets, no TLS,
// no disk).
#include "smtp/session.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "util/base64.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace volley::smtp {
namespace {

class FakeDirectory : public Directory {
 public:
  std::set<std::string> domains{"local.test", "other.test"};
  std::set<std::string> users{"alice@local.test", "bob@other.test"};
  std::map<std::string, std::vector<std::string>> aliases{{"sales@local.test", {"alice@local.test", "bob@other.test"}}};
  std::vector<net::Cidr> relay;

  bool is_local_domain(const std::string& d) const override { return domains.count(d) > 0; }
  bool users_unreadable = false;  // the user snapshot cannot be read: temporary errors

  Result<std::vector<std::string>> local_targets(const std::string& a) const override {
    if (auto it = aliases.find(a); it != aliases.end()) return it->second;
    if (a.rfind("postmaster@", 0) == 0) return std::vector<std::string>{a};
    if (users_unreadable) return make_error(ErrorCode::Io, "users database unreadable");
    if (users.count(a)) return std::vector<std::string>{a};
    return make_error(ErrorCode::NotFound, "no such user");
  }
  // relay.sender_login_match = "domain", as RecipientDirectory does it.
  Result<void> check_sender(const std::string& user, const Mailbox& sender) const override {
    if (to_lower(sender.domain) == user.substr(user.rfind('@') + 1)) return {};
    return make_error(ErrorCode::Permanent, "not the user's domain");
  }
  std::string postmaster() const override { return "postmaster@local.test"; }
  bool relay_allowed(const net::IpAddress& ip) const override {
    for (const auto& c : relay)
      if (c.contains(ip)) return true;
    return false;
  }
};

// Drives a Session the way the connection loop does.
class Dialogue {
 public:
  explicit Dialogue(config::SmtpRole role = config::SmtpRole::Mx, config::TlsMode tls = config::TlsMode::StartTls,
                    std::string ip = "192.0.2.10") {
    settings.hostname = "mx.test";
    settings.listener_name = "test";
    settings.role = role;
    settings.tls_mode = tls;
    settings.limits.max_message_size = 1000;
    settings.limits.max_recipients = 3;
    settings.limits.max_auth_failures = 3;
    settings.limits.max_errors = 10;
    settings.limits.max_line_length = 200;
    client.ip = ip;
    client.address = *net::IpAddress::parse(ip);
  }

  Session& session() {
    if (!s) {
      s = std::make_unique<Session>(settings, client, dir);
      s->start();
      pump();
    }
    return *s;
  }

  // Sends bytes, runs the session until it needs input (or closes), returns
  // everything it answered.
  std::string send(std::string_view bytes) {
    session().receive(bytes);
    return pump();
  }

  std::string pump() {
    std::string out;
    for (int guard = 0; guard < 1000; ++guard) {
      auto a = s->next();
      out += s->take_output();
      if (a == Session::Action::Read) break;
      if (a == Session::Action::Close) {
        closed = true;
        break;
      }
      if (a == Session::Action::StartTls) s->tls_started(TlsInfo{"TLSv1.3", "TLS_AES_128_GCM_SHA256"});
      if (a == Session::Action::Authenticate) {
        const auto& c = s->auth_request();
        if (auth_verdict)
          s->auth_result(*auth_verdict);
        else if (c.authcid == "alice@local.test" && c.password == "secret" && (c.authzid.empty() || c.authzid == c.authcid))
          s->auth_result(std::string("alice@local.test"));
        else
          s->auth_result(make_error(ErrorCode::Permanent, "bad credentials"));
      }
      if (a == Session::Action::Commit) {
        auto m = s->take_commit();
        if (fail_commits)
          s->commit_result(make_error(ErrorCode::NoSpace, "disk full"));
        else {
          messages.push_back(*m);
          s->commit_result(Result<void>{});
        }
      }
    }
    return out;
  }

  SessionSettings settings;
  ClientInfo client;
  FakeDirectory dir;
  std::unique_ptr<Session> s;
  std::vector<queue::Message> messages;
  bool closed = false;
  bool fail_commits = false;
  std::optional<Result<std::string>> auth_verdict;  // overrides the password check when set
};

bool starts(const std::string& reply, std::string_view prefix) { return reply.rfind(prefix, 0) == 0; }

TEST(Session, GreetingAndEhlo) {
  Dialogue d;
  d.session();
  std::string r = d.send("EHLO client.test\r\n");
  EXPECT_TRUE(starts(r, "250-mx.test Hello client.test [192.0.2.10]\r\n")) << r;
  for (const char* ext : {"PIPELINING", "SIZE 1000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "STARTTLS"})
    EXPECT_NE(r.find(std::string(ext) + "\r\n"), std::string::npos) << ext;
  EXPECT_EQ(r.find("AUTH"), std::string::npos) << "mx listener never offers AUTH";
  EXPECT_NE(r.find("250 HELP\r\n"), std::string::npos);
}

TEST(Session, GreetingText) {
  Dialogue d;
  d.s = std::make_unique<Session>(d.settings, d.client, d.dir);
  d.s->start();
  EXPECT_EQ(d.s->take_output(), "220 mx.test ESMTP Volley\r\n");
}

TEST(Session, FullTransaction) {
  Dialogue d;
  d.send("EHLO c\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<sender@example.org>\r\n"), "250 2.1.0 Sender <sender@example.org> OK\r\n");
  EXPECT_EQ(d.send("RCPT TO:<alice@local.test>\r\n"), "250 2.1.5 Recipient <alice@local.test> OK\r\n");
  EXPECT_EQ(d.send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  std::string r = d.send("Subject: hi\r\n\r\nbody\r\n..dot\r\n.\r\n");
  ASSERT_TRUE(starts(r, "250 2.0.0 Ok: queued as ")) << r;
  ASSERT_EQ(d.messages.size(), 1u);
  const auto& m = d.messages[0];
  EXPECT_EQ(m.envelope.sender, "sender@example.org");
  ASSERT_EQ(m.envelope.recipients.size(), 1u);
  EXPECT_EQ(m.envelope.recipients[0].address, "alice@local.test");
  EXPECT_TRUE(starts(m.content, "Received: from c ([192.0.2.10])\r\n")) << m.content;
  EXPECT_NE(m.content.find("\r\n\tby mx.test (Volley) with ESMTP id " + m.envelope.id), std::string::npos);
  size_t body = m.content.find("Subject: hi\r\n\r\nbody\r\n.dot\r\n");
  EXPECT_NE(body, std::string::npos);
  EXPECT_EQ(m.content.substr(body), "Subject: hi\r\n\r\nbody\r\n.dot\r\n");
  // Mail from an MX peer is not given Message-ID/Date.
  EXPECT_EQ(m.content.find("Message-ID:"), std::string::npos);
}

TEST(Session, PipelinedCommandsAnsweredInOrder) {
  Dialogue d;
  std::string r = d.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@local.test>\r\nRCPT TO:<nobody@local.test>\r\nDATA\r\n");
  EXPECT_NE(r.find("250 2.1.0"), std::string::npos);
  EXPECT_NE(r.find("250 2.1.5"), std::string::npos);
  EXPECT_NE(r.find("550 5.1.1 <nobody@local.test>"), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n354 End data with <CR><LF>.<CR><LF>\r\n")) << r;
}

struct ReplyCase {
  const char* name;
  const char* setup;   // sent first, replies ignored
  const char* line;
  const char* expect;  // reply prefix
};

class SessionReplies : public ::testing::TestWithParam<ReplyCase> {};

TEST_P(SessionReplies, Answers) {
  const auto& c = GetParam();
  Dialogue d;
  d.send(c.setup);
  std::string r = d.send(c.line);
  EXPECT_TRUE(starts(r, c.expect)) << c.name << ": got " << r;
}

const ReplyCase kReplyCases[] = {
    {"mail before helo", "", "MAIL FROM:<a@b.test>\r\n", "503 5.5.1"},
    {"rcpt before mail", "EHLO c\r\n", "RCPT TO:<alice@local.test>\r\n", "503 5.5.1"},
    {"data before mail", "EHLO c\r\n", "DATA\r\n", "503 5.5.1"},
    {"data without valid rcpt", "EHLO c\r\nMAIL FROM:<>\r\n", "DATA\r\n", "554 5.5.1"},
    {"nested mail", "EHLO c\r\nMAIL FROM:<>\r\n", "MAIL FROM:<>\r\n", "503 5.5.1"},
    {"unknown command", "EHLO c\r\n", "FOO bar\r\n", "500 5.5.1"},
    {"ehlo without argument", "", "EHLO\r\n", "501 5.5.4"},
    {"helo", "", "HELO c\r\n", "250 mx.test"},
    {"vrfy never reveals", "EHLO c\r\n", "VRFY alice\r\n", "252 2.5.2"},
    {"expn", "EHLO c\r\n", "EXPN list\r\n", "502 5.5.1"},
    {"help", "", "HELP\r\n", "214-2.0.0"},
    {"noop", "", "NOOP\r\n", "250 2.0.0"},
    {"rset", "EHLO c\r\nMAIL FROM:<>\r\n", "RSET\r\n", "250 2.0.0"},
    {"quit", "", "QUIT\r\n", "221 2.0.0"},
    {"unknown user", "EHLO c\r\nMAIL FROM:<>\r\n", "RCPT TO:<nobody@local.test>\r\n", "550 5.1.1"},
    {"relay denied", "EHLO c\r\nMAIL FROM:<>\r\n", "RCPT TO:<x@remote.example>\r\n", "550 5.7.1"},
    {"percent hack", "EHLO c\r\nMAIL FROM:<>\r\n", "RCPT TO:<x%remote.example@local.test>\r\n", "550 5.1.1"},
    {"quoted at", "EHLO c\r\nMAIL FROM:<>\r\n", "RCPT TO:<\"x@remote.example\"@local.test>\r\n", "550 5.1.3"},  // 1f: a name no mailbox can have
    {"source route to remote", "EHLO c\r\nMAIL FROM:<>\r\n", "RCPT TO:<@local.test:x@remote.example>\r\n", "550 5.7.1"},
    {"trailing dot", "EHLO c\r\nMAIL FROM:<>\r\n", "RCPT TO:<alice@local.test.>\r\n", "501 5.1.3"},
    {"ip literal", "EHLO c\r\nMAIL FROM:<>\r\n", "RCPT TO:<alice@[127.0.0.1]>\r\n", "550 5.7.1"},
    {"mixed case user", "EHLO c\r\nMAIL FROM:<>\r\n", "RCPT TO:<ALICE@Local.TEST>\r\n", "250 2.1.5"},
    {"postmaster bare", "EHLO c\r\nMAIL FROM:<>\r\n", "RCPT TO:<Postmaster>\r\n", "250 2.1.5"},
    {"postmaster of other domain", "EHLO c\r\nMAIL FROM:<>\r\n", "RCPT TO:<postmaster@other.test>\r\n", "250 2.1.5"},
    {"shell metacharacters", "EHLO c\r\n", "MAIL FROM:<;sleep 5;>\r\n", "501 5.1.7"},
    {"size over limit", "EHLO c\r\n", "MAIL FROM:<a@b.test> SIZE=1001\r\n", "552 5.3.4"},
    {"unknown mail parameter", "EHLO c\r\n", "MAIL FROM:<a@b.test> FOO=BAR\r\n", "555 5.5.4"},
    {"bad rcpt syntax", "EHLO c\r\nMAIL FROM:<>\r\n", "RCPT TO:alice@local.test\r\n", "501"},
    {"auth on mx", "EHLO c\r\n", "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "503 5.5.1"},
    {"starttls with argument", "EHLO c\r\n", "STARTTLS now\r\n", "501 5.5.4"},
};
INSTANTIATE_TEST_SUITE_P(Table, SessionReplies, ::testing::ValuesIn(kReplyCases));

TEST(Session, LineLimitsPerVerb) {
  Dialogue d;
  d.send("EHLO c\r\n");
  EXPECT_TRUE(starts(d.send("NOOP " + std::string(600, 'x') + "\r\n"), "500 5.5.2")) << "512 for ordinary verbs";
  // MAIL may be longer (ESMTP parameters), up to 2048.
  std::string envid(100, 'e');
  EXPECT_TRUE(starts(d.send("MAIL FROM:<" + std::string(60, 'a') + "@example.org> ENVID=" + envid + " RET=HDRS SIZE=10 BODY=8BITMIME   " + std::string(300, ' ') + "\r\n"), "250")) ;
  EXPECT_TRUE(starts(d.send("RCPT TO:<alice@local.test> " + std::string(2100, ' ') + "\r\n"), "500 5.5.2"));
}

TEST(Session, NulInCommandIsRefused) {
  Dialogue d;
  d.session();
  std::string r = d.send(std::string("NOOP a\0b\r\n", 10));
  EXPECT_TRUE(starts(r, "500 5.5.2")) << r;
}

TEST(Session, OverLongLineWithoutNewlineAnsweredOnceThenResyncs) {
  Dialogue d;
  d.session();
  std::string r = d.send(std::string(20000, 'A'));
  EXPECT_TRUE(starts(r, "500 5.5.2")) << r;
  EXPECT_EQ(d.send(std::string(20000, 'A')), "");
  EXPECT_EQ(d.send("still the same line\r\nNOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(Session, TooManyRecipients) {
  Dialogue d;
  d.send("EHLO c\r\nMAIL FROM:<>\r\n");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(starts(d.send("RCPT TO:<alice@local.test>\r\n"), "250"));
  EXPECT_TRUE(starts(d.send("RCPT TO:<alice@local.test>\r\n"), "452 4.5.3"));
}

TEST(Session, AliasExpandsAndDeduplicates) {
  Dialogue d;
  d.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<sales@local.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  ASSERT_TRUE(starts(d.send("x\r\n.\r\n"), "250 2.0.0"));
  ASSERT_EQ(d.messages.size(), 1u);
  const auto& r = d.messages[0].envelope.recipients;
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].address, "alice@local.test");
  EXPECT_EQ(r[0].original, "sales@local.test");
  EXPECT_EQ(r[1].address, "bob@other.test");
}

TEST(Session, RelayAllowedNetwork) {
  Dialogue d(config::SmtpRole::Mx, config::TlsMode::None, "10.1.2.3");
  d.dir.relay.push_back(*net::Cidr::parse("10.0.0.0/8"));
  d.send("EHLO c\r\nMAIL FROM:<>\r\n");
  EXPECT_TRUE(starts(d.send("RCPT TO:<x@remote.example>\r\n"), "250 2.1.5"));
}

TEST(Session, OversizeMessageRefusedAndNothingKept) {
  Dialogue d;
  d.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  std::string big(1500, 'x');
  std::string body;
  for (int i = 0; i < 15; ++i) body += std::string(99, 'y') + "\r\n";
  EXPECT_TRUE(starts(d.send(body + ".\r\n"), "552 5.3.4"));
  EXPECT_TRUE(d.messages.empty());
  EXPECT_EQ(d.send("NOOP\r\n"), "250 2.0.0 Ok\r\n") << "dialogue stays in step";
}

TEST(Session, LongMessageLineRefused) {
  Dialogue d;
  d.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  EXPECT_TRUE(starts(d.send(std::string(300, 'z') + "\r\n.\r\n"), "552 5.3.4"));
  EXPECT_TRUE(d.messages.empty());
}

// SMTP smuggling: none of these sequences ends the message, so the pipelined
// second transaction is content of the first and never a message of its own.
class SessionSmuggling : public ::testing::TestWithParam<std::string> {};

TEST_P(SessionSmuggling, SecondMessageNeverAccepted) {
  Dialogue d;
  d.settings.limits.max_message_size = 100000;
  d.send("EHLO c\r\nMAIL FROM:<good@example.org>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  std::string r = d.send("Subject: one\r\n\r\nfirst" + GetParam() +
                         "MAIL FROM:<evil@example.org>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\nsmuggled\r\n.\r\n");
  // Exactly one final reply.
  bool accepted = starts(r, "250 2.0.0 Ok: queued");
  bool refused = starts(r, "550 5.6.0");
  EXPECT_TRUE(accepted || refused) << r;
  EXPECT_EQ(r.find("\r\n", 0) + 2, r.size()) << "one reply only: " << r;
  ASSERT_LE(d.messages.size(), 1u);
  for (const auto& m : d.messages) {
    EXPECT_EQ(m.envelope.sender, "good@example.org");
    // Stored content has CRLF line endings only.
    for (size_t i = 0; i < m.content.size(); ++i) {
      if (m.content[i] == '\n') {
        EXPECT_TRUE(i > 0 && m.content[i - 1] == '\r');
      }
      if (m.content[i] == '\r') {
        EXPECT_TRUE(i + 1 < m.content.size() && m.content[i + 1] == '\n');
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Sequences, SessionSmuggling,
                         ::testing::Values("\n.\n", "\n.\r\n", "\r.\r", "\r\n.\r", "\r\r\n", "\r\n.\n",
                                           "\r\n.\r\r\n"));

TEST(Session, BareLfNormalised) {
  Dialogue d;
  d.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  ASSERT_TRUE(starts(d.send("Subject: x\n\nline1\nline2\r\n.\r\n"), "250 2.0.0"));
  ASSERT_EQ(d.messages.size(), 1u);
  EXPECT_NE(d.messages[0].content.find("Subject: x\r\n\r\nline1\r\nline2\r\n"), std::string::npos);
}

TEST(Session, BdatChunks) {
  Dialogue d;
  d.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@local.test>\r\n");
  EXPECT_EQ(d.send("BDAT 12\r\nSubject: x\r\n"), "250 2.0.0 12 octets received\r\n");
  std::string r = d.send("BDAT 6 LAST\r\n\r\nbody");
  ASSERT_TRUE(starts(r, "250 2.0.0 Ok: queued as")) << r;
  ASSERT_EQ(d.messages.size(), 1u);
  EXPECT_NE(d.messages[0].content.find("Subject: x\r\n\r\nbody"), std::string::npos);
}

TEST(Session, BdatWithoutTransactionConsumesChunk) {
  Dialogue d;
  d.send("EHLO c\r\n");
  std::string r = d.send("BDAT 10\r\nNOOP\r\nNOOPNOOP\r\n");
  EXPECT_EQ(r, "503 5.5.1 Need MAIL command first\r\n250 2.0.0 Ok\r\n") << r;
}

TEST(Session, BdatOversizeRefused) {
  Dialogue d;
  d.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@local.test>\r\n");
  std::string chunk(1200, 'a');
  std::string r = d.send("BDAT 1200 LAST\r\n" + chunk);
  EXPECT_TRUE(starts(r, "552 5.3.4")) << r;
  EXPECT_TRUE(d.messages.empty());
}

TEST(Session, SubmissionRequiresAuthAndTls) {
  Dialogue d(config::SmtpRole::Submission);
  std::string ehlo = d.send("EHLO c\r\n");
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos) << "no AUTH before TLS";
  EXPECT_TRUE(starts(d.send("MAIL FROM:<alice@local.test>\r\n"), "530 5.7.0"));
  EXPECT_TRUE(starts(d.send("AUTH PLAIN AGFsaWNlQGxvY2FsLnRlc3QAc2VjcmV0\r\n"), "538 5.7.11"));
  EXPECT_EQ(d.send("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(d.session().tls_active());
  ehlo = d.send("EHLO c\r\n");
  EXPECT_NE(ehlo.find("AUTH PLAIN LOGIN"), std::string::npos);
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_TRUE(starts(d.send("AUTH PLAIN " + base64_encode(std::string("\0alice@local.test\0secret", 24)) + "\r\n"), "235 2.7.0"));
  EXPECT_TRUE(starts(d.send("MAIL FROM:<alice@local.test>\r\n"), "250"));
  EXPECT_TRUE(starts(d.send("RCPT TO:<anyone@remote.example>\r\n"), "250")) << "authenticated users relay";
  d.send("DATA\r\n");
  ASSERT_TRUE(starts(d.send("Subject: s\r\n\r\nhello\r\n.\r\n"), "250 2.0.0"));
  const std::string& c = d.messages.at(0).content;
  EXPECT_NE(c.find("with ESMTPSA id"), std::string::npos) << c;
  EXPECT_NE(c.find("(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)"), std::string::npos) << c;
  EXPECT_NE(c.find("(authenticated user alice@local.test)"), std::string::npos) << c;
  EXPECT_NE(c.find("\r\nMessage-ID: <"), std::string::npos) << "submitted mail gets a Message-ID";
  EXPECT_NE(c.find("\r\nDate: "), std::string::npos);
}

TEST(Session, SubmissionKeepsExistingMessageIdAndDate) {
  Dialogue d(config::SmtpRole::Submission, config::TlsMode::Implicit);
  d.session().tls_started(TlsInfo{"TLSv1.3", "X"});
  d.send("EHLO c\r\nAUTH PLAIN " + base64_encode(std::string("\0alice@local.test\0secret", 24)) + "\r\n");
  d.send("MAIL FROM:<alice@local.test>\r\nRCPT TO:<bob@other.test>\r\nDATA\r\n");
  ASSERT_TRUE(starts(d.send("Message-ID: <x@y>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nb\r\n.\r\n"), "250"));
  const std::string& c = d.messages.at(0).content;
  EXPECT_EQ(c.find("Message-ID:"), c.rfind("Message-ID:"));
  EXPECT_EQ(c.find("Date:"), c.rfind("Date:"));
}

TEST(Session, StartTlsDiscardsPipelinedCommands) {
  Dialogue d;
  d.send("EHLO c\r\n");
  std::string r = d.send("STARTTLS\r\nRSET\r\nMAIL FROM:<evil@x.test>\r\n");
  EXPECT_EQ(r, "220 2.0.0 Ready to start TLS\r\n") << "nothing after STARTTLS is executed";
  // After the handshake the session starts fresh: no HELO, no transaction.
  EXPECT_TRUE(starts(d.send("MAIL FROM:<a@b.test>\r\n"), "503 5.5.1"));
}

TEST(Session, AuthLoginAndFailures) {
  Dialogue d(config::SmtpRole::Submission, config::TlsMode::None);
  d.settings.require_tls_for_auth = false;
  d.send("EHLO c\r\n");
  EXPECT_EQ(d.send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(d.send(base64_encode("alice@local.test") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_TRUE(starts(d.send(base64_encode("wrong") + "\r\n"), "535 5.7.8"));
  EXPECT_TRUE(starts(d.send("AUTH PLAIN !!!notbase64\r\n"), "501 5.5.2"));
  EXPECT_EQ(d.send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_TRUE(starts(d.send("*\r\n"), "501 5.7.0"));
  EXPECT_TRUE(starts(d.send("AUTH PLAIN " + base64_encode(std::string("\0alice@local.test\0bad", 21)) + "\r\n"), "535"));
  std::string r = d.send("AUTH PLAIN " + base64_encode(std::string("\0alice@local.test\0bad", 21)) + "\r\n");
  EXPECT_NE(r.find("535 5.7.8"), std::string::npos);
  EXPECT_NE(r.find("421 4.7.0"), std::string::npos) << r;
  EXPECT_TRUE(d.closed);
}

// Defect 1d: a user lookup that fails for storage reasons is 451 4.3.0, never 550 5.1.1.
TEST(Session, RcptUserStoreFailureIsTemporary) {
  Dialogue d;
  d.dir.users_unreadable = true;
  d.send("EHLO c\r\n");
  d.send("MAIL FROM:<s@example.org>\r\n");
  EXPECT_TRUE(starts(d.send("RCPT TO:<alice@local.test>\r\n"), "451 4.3.0")) << "a real user during a hiccup";
  EXPECT_TRUE(starts(d.send("RCPT TO:<postmaster@local.test>\r\n"), "250 2.1.5")) << "postmaster always works";
  EXPECT_TRUE(starts(d.send("RCPT TO:<sales@local.test>\r\n"), "250 2.1.5")) << "aliases live in the config";
  d.dir.users_unreadable = false;
  EXPECT_TRUE(starts(d.send("RCPT TO:<nobody@local.test>\r\n"), "550 5.1.1"));
}

// 1f: a local-domain recipient that no mailbox can have is refused at RCPT
// with 550 5.1.3 (never 250 and then a bounce).
TEST(Session, RcptLocalNameThatCannotBeAMailbox) {
  Dialogue d;
  d.send("EHLO c\r\n");
  d.send("MAIL FROM:<s@example.org>\r\n");
  for (const char* bad : {"<a/b@local.test>", "<\"../x\"@local.test>", "<\".hidden\"@local.test>", "<\"a b\"@local.test>"}) {
    std::string r = d.send(std::string("RCPT TO:") + bad + "\r\n");
    EXPECT_TRUE(starts(r, "550 5.1.3")) << bad << ": " << r;
  }
  EXPECT_TRUE(starts(d.send("RCPT TO:<\"alice\"@local.test>\r\n"), "250 2.1.5")) << "harmless quoting";
  EXPECT_TRUE(starts(d.send("RCPT TO:<a/b@remote.test>\r\n"), "550 5.7.1")) << "remote: relay policy decides";
}

// Defect 1d at AUTH (RFC 4954): storage trouble is 454 4.7.0, and so is a spent budget.
TEST(Session, AuthTemporaryAndRateLimited) {
  Dialogue d(config::SmtpRole::Submission, config::TlsMode::None);
  d.settings.require_tls_for_auth = false;
  d.send("EHLO c\r\n");
  const std::string plain = "AUTH PLAIN " + base64_encode(std::string("\0alice@local.test\0secret", 24)) + "\r\n";
  d.auth_verdict = Result<std::string>(make_error(ErrorCode::Io, "users database unreadable"));
  EXPECT_EQ(d.send(plain), "454 4.7.0 Temporary authentication failure\r\n");
  d.auth_verdict = Result<std::string>(make_error(ErrorCode::RateLimited, "budget spent"));
  EXPECT_TRUE(starts(d.send(plain), "454 4.7.0 Too many authentication failures")) << "no 535, no password check";
  EXPECT_EQ(d.s->auth_failures(), 0u);
  d.auth_verdict.reset();
  EXPECT_TRUE(starts(d.send(plain), "235 2.7.0"));
  EXPECT_EQ(d.s->auth_user(), "alice@local.test");
}

// 1f: after AUTH as alice, MAIL FROM:<ceo@bank.test> was accepted.
TEST(Session, AuthenticatedSenderMustMatchLogin) {
  Dialogue d(config::SmtpRole::Submission, config::TlsMode::None);
  d.settings.require_tls_for_auth = false;
  d.send("EHLO c\r\nAUTH PLAIN " + base64_encode(std::string("\0alice@local.test\0secret", 24)) + "\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<ceo@bank.test>\r\n"),
            "553 5.7.1 <ceo@bank.test>: Sender address rejected: not owned by user alice@local.test\r\n");
  EXPECT_TRUE(starts(d.send("MAIL FROM:<>\r\n"), "250 2.1.0")) << "the null sender is allowed";
  d.send("RSET\r\n");
  EXPECT_TRUE(starts(d.send("MAIL FROM:<Bob@LOCAL.test>\r\n"), "250 2.1.0"));
}

TEST(Session, HeloArgumentRule) {
  for (const char* bad : {"a<b>", "[999.1.1.1]", "[127.0.0.1"}) {
    Dialogue d;
    d.session();
    EXPECT_TRUE(starts(d.send(std::string("EHLO ") + bad + "\r\n"), "501 5.5.2")) << bad;
  }
  Dialogue d;
  d.session();
  EXPECT_TRUE(starts(d.send("EHLO h\xc3\xa9llo.test\r\n"), "250-mx.test")) << "U-labels are names";
  EXPECT_TRUE(starts(d.send("HELO [192.0.2.1]\r\n"), "250 mx.test"));
}

// 1f: from= was escaped twice in logs while rcpt= carried raw UTF-8.
TEST(Session, LogFieldsEscapedOnceAndAlike) {
  std::string captured;
  log::set_sink_for_tests(&captured);
  Dialogue d;
  d.send("EHLO c\r\n");
  d.send("MAIL FROM:<jos\xc3\xa9@example.org> SMTPUTF8\r\n");
  d.send("RCPT TO:<jos\xc3\xa9@remote.test>\r\n");  // relay denied: logged with from= and recipient=
  log::set_sink_for_tests(nullptr);
  EXPECT_NE(captured.find("from=\"jos\xc3\xa9@example.org\""), std::string::npos) << captured;
  EXPECT_NE(captured.find("recipient=\"jos\xc3\xa9@remote.test\""), std::string::npos) << captured;
  EXPECT_EQ(captured.find("\\\\x"), std::string::npos) << "nothing escaped twice: " << captured;
}

// An unauthenticated MX client is not subject to the login match.
TEST(Session, SenderLoginMatchOnlyAfterAuth) {
  Dialogue d;
  d.send("EHLO c\r\n");
  EXPECT_TRUE(starts(d.send("MAIL FROM:<ceo@bank.test>\r\n"), "250 2.1.0"));
}

TEST(Session, AuthorizationIdentityMustMatch) {
  Dialogue d(config::SmtpRole::Submission, config::TlsMode::None);
  d.settings.require_tls_for_auth = false;
  d.send("EHLO c\r\n");
  EXPECT_TRUE(starts(d.send("AUTH PLAIN " + base64_encode(std::string("bob@other.test\0alice@local.test\0secret", 38)) + "\r\n"), "535"));
}

TEST(Session, TooManyErrorsCloses) {
  Dialogue d;
  d.session();
  std::string all;
  for (int i = 0; i < 10 && !d.closed; ++i) all += d.send("BOGUS\r\n");
  EXPECT_TRUE(d.closed);
  EXPECT_NE(all.find("421 4.7.0"), std::string::npos);
}

TEST(Session, HttpRequestClosesConnection) {
  Dialogue d;
  d.session();
  std::string r = d.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(starts(r, "500 5.5.1")) << r;
  EXPECT_TRUE(d.closed);
}

TEST(Session, DiskFullAnswers452) {
  Dialogue d;
  d.fail_commits = true;
  d.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  EXPECT_TRUE(starts(d.send("x\r\n.\r\n"), "452 4.3.1"));
}

TEST(Session, TimeoutAndShutdownReplies) {
  Dialogue d;
  d.session();
  d.s->timed_out();
  EXPECT_TRUE(starts(d.pump(), "421 4.4.2"));
  EXPECT_TRUE(d.closed);
  Dialogue e;
  e.session();
  EXPECT_TRUE(e.s->idle());
  e.s->shutting_down();
  EXPECT_TRUE(starts(e.pump(), "421 4.3.2"));
}

TEST(Session, IdleOnlyOutsideTransactions) {
  Dialogue d;
  d.send("EHLO c\r\n");
  EXPECT_TRUE(d.s->idle());
  d.send("MAIL FROM:<>\r\n");
  EXPECT_FALSE(d.s->idle());
  EXPECT_FALSE(d.s->reading_content());
  d.send("RCPT TO:<alice@local.test>\r\nDATA\r\n");
  EXPECT_TRUE(d.s->reading_content());
  d.send("x\r\n.\r\nBDAT 5\r\n");
  EXPECT_TRUE(d.s->reading_content()) << "a refused BDAT chunk is skipped, but it is still content";
}

TEST(Session, LifetimeEndedAnswers421) {
  Dialogue d;
  d.send("EHLO c\r\n");
  d.s->lifetime_ended();
  EXPECT_EQ(d.pump(), "421 4.4.2 mx.test Connection lifetime exceeded, closing connection\r\n");
  EXPECT_TRUE(d.closed);
}

// limits.max_junk_commands (Postfix's smtpd_junk_command_limit): NOOP, RSET,
// VRFY and HELP beyond the limit end the connection with 421 4.7.0.
TEST(Session, JunkCommandLimitCloses) {
  for (const char* junk : {"NOOP", "RSET", "VRFY x", "HELP"}) {
    Dialogue d;
    d.settings.limits.max_junk_commands = 3;
    d.send("EHLO c\r\n");
    std::string line = std::string(junk) + "\r\n";
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(starts(d.send(line), "2")) << junk << " #" << i;
    EXPECT_FALSE(d.closed);
    EXPECT_EQ(d.send(line), "421 4.7.0 mx.test Too many junk commands, closing connection\r\n") << junk;
    EXPECT_TRUE(d.closed);
  }
}

// limits.errors_before_delay / error_delay (Postfix's smtpd_soft_error_limit
// and smtpd_error_sleep_time): past the soft limit every error reply is held
// back; the runner waits take_reply_delay() before writing the output.
TEST(Session, ErrorRepliesPastTheSoftLimitAreDelayed) {
  using std::chrono::milliseconds;
  Dialogue d;
  d.settings.limits.errors_before_delay = 2;
  d.settings.limits.error_delay = std::chrono::seconds(1);
  d.send("EHLO c\r\n");
  EXPECT_EQ(d.s->take_reply_delay(), milliseconds(0));
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(starts(d.send("BOGUS\r\n"), "500"));
    EXPECT_EQ(d.s->take_reply_delay(), milliseconds(0)) << "error #" << i + 1 << " is within the soft limit";
  }
  EXPECT_TRUE(starts(d.send("BOGUS\r\n"), "500"));
  EXPECT_EQ(d.s->take_reply_delay(), milliseconds(1000));
  EXPECT_EQ(d.s->take_reply_delay(), milliseconds(0)) << "taking it resets it";
  d.send("BOGUS\r\nBOGUS\r\n");  // pipelined: each error pays
  EXPECT_EQ(d.s->take_reply_delay(), milliseconds(2000));
  EXPECT_TRUE(starts(d.send("NOOP\r\n"), "250"));
  EXPECT_EQ(d.s->take_reply_delay(), milliseconds(0)) << "a good reply is never held";
}

TEST(Session, RefusedRecipientsCountAsErrorsForTheDelay) {
  Dialogue d;
  d.settings.limits.errors_before_delay = 0;
  d.settings.limits.error_delay = std::chrono::milliseconds(300);
  d.send("EHLO c\r\nMAIL FROM:<>\r\n");
  EXPECT_TRUE(starts(d.send("RCPT TO:<nobody@local.test>\r\n"), "550"));
  EXPECT_EQ(d.s->take_reply_delay(), std::chrono::milliseconds(300));
}

TEST(Session, JunkCommandRefusalIsDelayed) {
  Dialogue d;
  d.settings.limits.max_junk_commands = 1;
  d.settings.limits.error_delay = std::chrono::milliseconds(700);
  d.send("EHLO c\r\nNOOP\r\n");
  EXPECT_EQ(d.s->take_reply_delay(), std::chrono::milliseconds(0));
  EXPECT_TRUE(starts(d.send("NOOP\r\n"), "421 4.7.0"));
  EXPECT_EQ(d.s->take_reply_delay(), std::chrono::milliseconds(700));
}

TEST(Session, JunkCommandsPipelinedStopAtTheLimit) {
  Dialogue d;
  d.settings.limits.max_junk_commands = 2;
  std::string r = d.send("EHLO c\r\nNOOP\r\nHELP\r\nNOOP\r\nNOOP\r\n");
  EXPECT_NE(r.find("421 4.7.0"), std::string::npos) << r;
  EXPECT_EQ(r.substr(r.size() - 2), "\r\n");
  EXPECT_EQ(r.rfind("421 4.7.0"), r.rfind("\r\n", r.size() - 3) + 2) << "nothing answered after the 421: " << r;
  EXPECT_TRUE(d.closed);
}

// A bulk client may RSET between messages for as long as it keeps sending
// mail: each accepted message resets the count.
TEST(Session, JunkCountResetByAcceptedMessage) {
  Dialogue d;
  d.settings.limits.max_junk_commands = 2;
  d.send("EHLO c\r\n");
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(starts(d.send("RSET\r\n"), "250")) << i;
    EXPECT_TRUE(starts(d.send("NOOP\r\n"), "250")) << i;
    d.send("MAIL FROM:<>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
    ASSERT_TRUE(starts(d.send("x\r\n.\r\n"), "250")) << i;
  }
  EXPECT_FALSE(d.closed);
  EXPECT_EQ(d.messages.size(), 5u);
}

TEST(Session, OtherCommandsAreNotJunk) {
  Dialogue d;
  d.settings.limits.max_junk_commands = 1;
  d.settings.limits.max_errors = 100;
  d.send("EHLO c\r\n");
  for (int i = 0; i < 5; ++i) d.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@local.test>\r\n");
  EXPECT_FALSE(d.closed);
  EXPECT_TRUE(starts(d.send("NOOP\r\n"), "250"));
  EXPECT_TRUE(starts(d.send("NOOP\r\n"), "421 4.7.0"));
}

TEST(Session, DsnParametersKept) {
  Dialogue d;
  d.send("EHLO c\r\nMAIL FROM:<a@b.test> RET=HDRS ENVID=abc+2B1\r\n");
  d.send("RCPT TO:<alice@local.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice+40local.test\r\nDATA\r\n");
  ASSERT_TRUE(starts(d.send("x\r\n.\r\n"), "250"));
  const auto& env = d.messages.at(0).envelope;
  EXPECT_EQ(env.dsn_ret, "HDRS");
  EXPECT_EQ(env.dsn_envid, "abc+1");
  EXPECT_EQ(env.recipients.at(0).notify, unsigned(kNotifySuccess | kNotifyFailure));
  EXPECT_EQ(env.recipients.at(0).orcpt_type, "rfc822");
  EXPECT_EQ(env.recipients.at(0).orcpt_address, "alice@local.test");
}

TEST(Session, MailLoopRefused) {
  Dialogue d;
  d.settings.limits.max_message_size = 100000;
  d.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  std::string hops;
  for (int i = 0; i < 60; ++i) hops += "Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n";
  EXPECT_TRUE(starts(d.send(hops + "\r\nbody\r\n.\r\n"), "554 5.4.6"));
}

}  // namespace
}  // namespace volley::smtp
