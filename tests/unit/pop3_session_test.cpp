// pop3::Session driven in-process: the adapter's blocking work is done
// synchronously against a fake Maildrop and a fake password check.
#include "pop3/session.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "util/base64.hpp"

namespace volley::pop3 {
namespace {

using Action = Session::Action;

// What the fake store saw, shared with the test after the maildrop is gone.
struct StoreLog {
  int opened = 0;
  int released = 0;
  int commits = 0;
  int reads = 0;
  std::vector<size_t> deleted;
  std::vector<size_t> retrieved;
  bool fail_commit = false;
  bool fail_open_message = false;
  int fail_read_after = -1;  // fail the read after this many successful ones
};

class FakeReader : public MessageReader {
 public:
  FakeReader(std::string bytes, StoreLog& log) : bytes_(std::move(bytes)), log_(log) {}
  Result<void> read(std::string& out, size_t max) override {
    if (log_.fail_read_after >= 0 && log_.reads >= log_.fail_read_after) return make_error("disk on fire");
    ++log_.reads;
    out = bytes_.substr(at_, max);
    at_ += out.size();
    return {};
  }

 private:
  std::string bytes_;
  size_t at_ = 0;
  StoreLog& log_;
};

class FakeMaildrop : public Maildrop {
 public:
  FakeMaildrop(std::vector<std::string> messages, StoreLog& log) : messages_(std::move(messages)), log_(log) {
    for (size_t i = 0; i < messages_.size(); ++i)
      entries_.push_back({messages_[i].size()});
    ++log_.opened;
  }
  ~FakeMaildrop() override { ++log_.released; }
  const std::vector<MaildropEntry>& entries() const override { return entries_; }
  std::string uidl(size_t index) const override { return "0000000" + std::to_string(index + 1) + "66f0a1b2"; }
  Result<std::unique_ptr<MessageReader>> open_message(size_t index) override {
    if (log_.fail_open_message) return make_error(ErrorCode::NotFound, "gone");
    return std::unique_ptr<MessageReader>(std::make_unique<FakeReader>(messages_.at(index), log_));
  }
  Result<void> commit(const std::vector<size_t>& deleted, const std::vector<size_t>& retrieved) override {
    ++log_.commits;
    if (log_.fail_commit) return make_error(ErrorCode::Io, "fsync failed");
    log_.deleted = deleted;
    log_.retrieved = retrieved;
    return {};
  }

 private:
  std::vector<std::string> messages_;
  std::vector<MaildropEntry> entries_;
  StoreLog& log_;
};

const std::string kMsg1 = "Subject: one\r\n\r\n.dot line\r\nbody\r\n";
const std::string kMsg2 = "Subject: two\r\nX: y\r\n\r\nl1\r\nl2\r\nl3\r\n";

struct Dialogue {
  SessionSettings settings;
  std::map<std::string, std::string> passwords{{"alice@local.test", "secret"}};
  std::vector<std::string> messages{kMsg1, kMsg2};
  StoreLog store;
  ErrorCode open_error = ErrorCode::Failed;
  bool open_fails = false;
  bool rate_limited = false;
  int auth_checks = 0;
  int fetches = 0;
  int flushes = 0;
  size_t largest_step_output = 0;
  std::string out;
  std::unique_ptr<Session> s;
  Action last = Action::Read;

  explicit Dialogue(bool tls = true) {
    settings.hostname = "pop.test";
    settings.listener_name = "pop3";
    settings.tls_mode = config::TlsMode::StartTls;
    settings.require_tls_for_auth = true;
    s = std::make_unique<Session>(settings, "192.0.2.7");
    if (tls) s->tls_started();
    s->start();
    pump();
  }
  void reset_settings(const SessionSettings& st, bool tls) {
    settings = st;
    out.clear();
    s = std::make_unique<Session>(settings, "192.0.2.7");
    if (tls) s->tls_started();
    s->start();
    pump();
  }
  // Sends bytes; returns what the server answered to them.
  std::string send(std::string_view bytes) {
    out.clear();
    s->receive(bytes);
    pump();
    return out;
  }
  void pump() {
    for (;;) {
      last = s->next();
      std::string step = s->take_output();
      largest_step_output = std::max(largest_step_output, step.size());
      out += step;
      switch (last) {
        case Action::Read:
        case Action::Close: return;
        case Action::StartTls: s->tls_started(); break;
        case Action::Flush: ++flushes; break;
        case Action::Authenticate: {
          ++auth_checks;
          const auto& c = s->auth_request();
          if (rate_limited) {
            s->auth_result(make_error(ErrorCode::RateLimited, "budget"));
            break;
          }
          auto it = passwords.find(c.authcid);
          if (it != passwords.end() && it->second == c.password && (c.authzid.empty() || c.authzid == c.authcid))
            s->auth_result(Result<std::string>(it->first));
          else
            s->auth_result(make_error(ErrorCode::Permanent, "bad"));
          break;
        }
        case Action::Open:
          if (open_fails) {
            s->open_result(make_error(open_error, "cannot"));
          } else {
            s->open_result(std::unique_ptr<Maildrop>(std::make_unique<FakeMaildrop>(messages, store)));
          }
          break;
        case Action::Fetch: {
          ++fetches;
          FetchJob job = s->take_fetch();
          run_fetch(job);
          s->fetch_result(std::move(job));
          break;
        }
        case Action::Commit: {
          auto job = s->take_commit();
          s->commit_result(run_commit(job));
          break;
        }
      }
    }
  }
  void login() { ASSERT_EQ(send("USER alice@local.test\r\nPASS secret\r\n"), "+OK\r\n+OK Logged in.\r\n"); }
  bool closed() const { return last == Action::Close; }
};

std::string plain(std::string_view authz, std::string_view user, std::string_view pass) {
  std::string raw(authz);
  raw.push_back('\0');
  raw.append(user);
  raw.push_back('\0');
  raw.append(pass);
  return base64_encode(raw);
}

// ----------------------------------------------------------- AUTHORIZATION

TEST(Pop3Session, GreetingAndCapaBeforeTls) {
  Dialogue d(false);
  d.reset_settings(d.settings, false);
  EXPECT_EQ(d.out, "+OK Volley ready.\r\n");
  const std::string capa = d.send("CAPA\r\n");
  EXPECT_EQ(capa,
            "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
            "STLS\r\nIMPLEMENTATION Volley\r\n.\r\n");  // no USER/SASL: no login in clear
}

TEST(Pop3Session, CapaAfterTls) {
  Dialogue d;
  EXPECT_EQ(d.send("capa\r\n"),
            "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
            "USER\r\nSASL PLAIN\r\nIMPLEMENTATION Volley\r\n.\r\n");
}

TEST(Pop3Session, CleartextLoginRefusedWithoutAPasswordCheck) {
  Dialogue d(false);
  const std::string refused =
      "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n";
  EXPECT_EQ(d.send("USER alice@local.test\r\n"), refused);
  EXPECT_EQ(d.send("PASS secret\r\n"), refused);
  EXPECT_EQ(d.send("AUTH PLAIN " + plain("", "alice@local.test", "secret") + "\r\n"), refused);
  EXPECT_EQ(d.auth_checks, 0);
  EXPECT_EQ(d.store.opened, 0);
}

TEST(Pop3Session, CleartextLoginAllowedWhenConfigured) {
  Dialogue d(false);
  SessionSettings st = d.settings;
  st.require_tls_for_auth = false;
  d.reset_settings(st, false);
  d.login();
}

TEST(Pop3Session, StlsDiscardsPipelinedBytes) {
  Dialogue d(false);
  EXPECT_EQ(d.send("STLS\r\nUSER mallory\r\nPASS x\r\n"), "+OK Begin TLS negotiation now.\r\n");
  EXPECT_TRUE(d.s->tls_active());
  EXPECT_EQ(d.auth_checks, 0);
  EXPECT_EQ(d.send("PASS x\r\n"), "-ERR No username given.\r\n");
  EXPECT_EQ(d.send("STLS\r\n"), "-ERR TLS is already active.\r\n");
}

TEST(Pop3Session, StlsOnlyWhereOffered) {
  Dialogue d(false);
  SessionSettings st = d.settings;
  st.tls_mode = config::TlsMode::Implicit;
  d.reset_settings(st, true);
  EXPECT_EQ(d.send("STLS\r\n"), "-ERR STLS is not offered here.\r\n");
}

TEST(Pop3Session, UserPassLogin) {
  Dialogue d;
  d.login();
  EXPECT_EQ(d.store.opened, 1);
  EXPECT_EQ(d.s->state(), Session::State::Transaction);
}

TEST(Pop3Session, EmptyMailbox) {
  Dialogue d;
  d.messages.clear();
  d.login();
  EXPECT_EQ(d.send("STAT\r\n"), "+OK 0 0\r\n");
  EXPECT_EQ(d.send("LIST\r\n"), "+OK 0 messages:\r\n.\r\n");
  EXPECT_EQ(d.send("UIDL\r\n"), "+OK\r\n.\r\n");
  EXPECT_EQ(d.send("RETR 1\r\n"), "-ERR There's no message 1.\r\n");
  EXPECT_EQ(d.send("QUIT\r\n"), "+OK Logging out.\r\n");
  EXPECT_TRUE(d.closed());
  EXPECT_EQ(d.store.commits, 0);  // nothing to apply
  EXPECT_EQ(d.store.released, 1);  // but the lock is released before the +OK
}

TEST(Pop3Session, WrongPassword) {
  Dialogue d;
  EXPECT_EQ(d.send("USER alice@local.test\r\nPASS wrong\r\n"), "+OK\r\n-ERR [AUTH] Authentication failed.\r\n");
  EXPECT_EQ(d.store.opened, 0);
  EXPECT_EQ(d.s->state(), Session::State::Authorization);
  d.login();  // may try again
}

TEST(Pop3Session, TooManyAuthFailuresCloses) {
  Dialogue d;
  for (unsigned i = 1; i < d.settings.max_auth_failures; ++i)
    EXPECT_EQ(d.send("USER a@local.test\r\nPASS x\r\n"), "+OK\r\n-ERR [AUTH] Authentication failed.\r\n");
  EXPECT_EQ(d.send("USER a@local.test\r\nPASS x\r\n"),
            "+OK\r\n-ERR [AUTH] Authentication failed.\r\n-ERR Too many authentication failures.\r\n");
  EXPECT_TRUE(d.closed());
}

TEST(Pop3Session, RateLimitedAnswersSysTemp) {
  Dialogue d;
  d.rate_limited = true;
  EXPECT_EQ(d.send("USER alice@local.test\r\nPASS secret\r\n"),
            "+OK\r\n-ERR [SYS/TEMP] Too many authentication failures from your address, try again later.\r\n");
  EXPECT_EQ(d.store.opened, 0);
}

TEST(Pop3Session, AuthPlain) {
  Dialogue d;
  EXPECT_EQ(d.send("AUTH PLAIN " + plain("", "alice@local.test", "secret") + "\r\n"), "+OK Logged in.\r\n");
}

TEST(Pop3Session, AuthPlainContinuation) {
  Dialogue d;
  EXPECT_EQ(d.send("AUTH PLAIN\r\n"), "+ \r\n");
  EXPECT_EQ(d.send(plain("alice@local.test", "alice@local.test", "secret") + "\r\n"), "+OK Logged in.\r\n");
}

TEST(Pop3Session, AuthPlainCancelBadBase64AndMechanisms) {
  Dialogue d;
  EXPECT_EQ(d.send("AUTH\r\n"), "+OK\r\nPLAIN\r\n.\r\n");
  EXPECT_EQ(d.send("AUTH PLAIN\r\n*\r\n"), "+ \r\n-ERR Authentication cancelled.\r\n");
  EXPECT_EQ(d.send("AUTH PLAIN\r\n!!!not base64!!!\r\n"),
            "+ \r\n-ERR Invalid base64 data in continued response.\r\n");
  EXPECT_EQ(d.send("AUTH PLAIN %%%%\r\n"), "-ERR Invalid base64 data in continued response.\r\n");
  EXPECT_EQ(d.send("AUTH PLAIN =\r\n"), "-ERR [AUTH] Authentication failed.\r\n");  // empty response
  EXPECT_EQ(d.send("AUTH CRAM-MD5\r\n"), "-ERR Unsupported authentication mechanism.\r\n");
  EXPECT_EQ(d.auth_checks, 0);
  EXPECT_EQ(d.send("AUTH PLAIN " + plain("", "alice@local.test", "secret") + "\r\n"), "+OK Logged in.\r\n");
}

TEST(Pop3Session, InUseAndStorageErrors) {
  Dialogue d;
  d.open_fails = true;
  d.open_error = ErrorCode::Busy;
  EXPECT_EQ(d.send("USER alice@local.test\r\nPASS secret\r\n"),
            "+OK\r\n-ERR [IN-USE] Mailbox is locked by another POP3 session, try again later.\r\n");
  d.open_error = ErrorCode::Io;
  EXPECT_EQ(d.send("USER alice@local.test\r\nPASS secret\r\n"),
            "+OK\r\n-ERR [SYS/TEMP] Cannot open the mailbox now, try again later.\r\n");
  EXPECT_EQ(d.s->state(), Session::State::Authorization);
  d.open_fails = false;
  d.login();
}

// ------------------------------------------------------------- TRANSACTION

TEST(Pop3Session, StatListUidl) {
  Dialogue d;
  d.login();
  const std::string s1 = std::to_string(kMsg1.size()), s2 = std::to_string(kMsg2.size());
  EXPECT_EQ(d.send("STAT\r\n"), "+OK 2 " + std::to_string(kMsg1.size() + kMsg2.size()) + "\r\n");
  EXPECT_EQ(d.send("LIST\r\n"), "+OK 2 messages:\r\n1 " + s1 + "\r\n2 " + s2 + "\r\n.\r\n");
  EXPECT_EQ(d.send("LIST 2\r\n"), "+OK 2 " + s2 + "\r\n");
  EXPECT_EQ(d.send("UIDL\r\n"), "+OK\r\n1 0000000166f0a1b2\r\n2 0000000266f0a1b2\r\n.\r\n");
  EXPECT_EQ(d.send("UIDL 1\r\n"), "+OK 1 0000000166f0a1b2\r\n");
  EXPECT_EQ(d.send("LIST 3\r\n"), "-ERR There's no message 3.\r\n");
  EXPECT_EQ(d.send("LIST x\r\n"), "-ERR Invalid message number.\r\n");
  EXPECT_EQ(d.send("LIST 0\r\n"), "-ERR Invalid message number.\r\n");
}

TEST(Pop3Session, RetrIsDotStuffedAndTerminated) {
  Dialogue d;
  d.login();
  EXPECT_EQ(d.send("RETR 1\r\n"),
            "+OK " + std::to_string(kMsg1.size()) + " octets\r\nSubject: one\r\n\r\n..dot line\r\nbody\r\n.\r\n");
  EXPECT_EQ(d.fetches, 1);  // a small message: one trip to the disk-work pool
  EXPECT_EQ(d.send("TOP 2 1\r\n"), "+OK\r\nSubject: two\r\nX: y\r\n\r\nl1\r\n.\r\n");
  EXPECT_EQ(d.send("TOP 2 0\r\n"), "+OK\r\nSubject: two\r\nX: y\r\n\r\n.\r\n");
  EXPECT_EQ(d.send("TOP 2\r\n"), "-ERR TOP needs a message number and a line count.\r\n");
  EXPECT_EQ(d.send("TOP 2 -1\r\n"), "-ERR Invalid line count.\r\n");
}

// Only RETR marks a message seen at QUIT, as Dovecot's pop3 does ("mark the
// message seen with RETR command"): a client that previews with TOP has not
// read the message.
TEST(Pop3Session, TopDoesNotMarkSeenRetrDoes) {
  Dialogue d;
  d.login();
  EXPECT_EQ(d.send("TOP 2 0\r\n"), "+OK\r\nSubject: two\r\nX: y\r\n\r\n.\r\n");
  EXPECT_EQ(d.send("QUIT\r\n"), "+OK Logging out.\r\n");
  EXPECT_EQ(d.store.commits, 0);

  Dialogue again;
  again.login();
  (void)again.send("TOP 1 0\r\nRETR 2\r\n");
  EXPECT_EQ(again.send("QUIT\r\n"), "+OK Logging out.\r\n");
  EXPECT_EQ(again.store.commits, 1);
  EXPECT_EQ(again.store.retrieved, std::vector<size_t>{1});
}

TEST(Pop3Session, LargeMessageStreamsInBoundedSteps) {
  Dialogue d;
  std::string big;
  while (big.size() < 5 * kMessageChunk) big += ".line of the message, starting with a dot\r\n";
  d.messages = {big};
  d.login();
  d.largest_step_output = 0;
  const std::string got = d.send("RETR 1\r\n");
  EXPECT_GE(d.fetches, 6);
  EXPECT_LT(d.largest_step_output, kMessageChunk * 11 / 10);  // one piece (plus its stuffing) per step
  std::string expected = "+OK " + std::to_string(big.size()) + " octets\r\n";
  for (size_t at = 0; at < big.size();) {
    size_t end = big.find("\r\n", at) + 2;
    expected.push_back('.');  // piecewise: GCC 12 -O3 warns (-Wrestrict) on "lit" + string
    expected.append(big, at, end - at);
    at = end;
  }
  expected += ".\r\n";
  EXPECT_EQ(got, expected);
}

TEST(Pop3Session, DeleRsetAndQuitCommit) {
  Dialogue d;
  d.login();
  EXPECT_EQ(d.send("DELE 1\r\n"), "+OK Marked to be deleted.\r\n");
  EXPECT_EQ(d.send("DELE 1\r\n"), "-ERR Message is deleted.\r\n");
  EXPECT_EQ(d.send("RETR 1\r\n"), "-ERR Message is deleted.\r\n");
  EXPECT_EQ(d.send("STAT\r\n"), "+OK 1 " + std::to_string(kMsg2.size()) + "\r\n");
  EXPECT_EQ(d.send("LIST\r\n"), "+OK 1 messages:\r\n2 " + std::to_string(kMsg2.size()) + "\r\n.\r\n");
  EXPECT_EQ(d.send("RSET\r\n"), "+OK\r\n");
  EXPECT_EQ(d.send("STAT\r\n"), "+OK 2 " + std::to_string(kMsg1.size() + kMsg2.size()) + "\r\n");
  d.send("RETR 2\r\nDELE 1\r\n");
  EXPECT_EQ(d.store.commits, 0);  // nothing before QUIT
  EXPECT_EQ(d.send("QUIT\r\n"), "+OK Logging out.\r\n");
  EXPECT_TRUE(d.closed());
  EXPECT_EQ(d.store.commits, 1);
  EXPECT_EQ(d.store.deleted, std::vector<size_t>{0});
  EXPECT_EQ(d.store.retrieved, std::vector<size_t>{1});
  EXPECT_EQ(d.store.released, 1);
}

TEST(Pop3Session, DroppedConnectionCommitsNothing) {
  Dialogue d;
  d.login();
  d.send("DELE 1\r\nDELE 2\r\n");
  d.s->connection_lost();
  EXPECT_EQ(d.s->next(), Action::Close);
  d.s->release_maildrop().reset();
  EXPECT_EQ(d.store.commits, 0);
  EXPECT_EQ(d.store.released, 1);
}

TEST(Pop3Session, CommitFailureAnswersSysTemp) {
  Dialogue d;
  d.login();
  d.store.fail_commit = true;
  d.send("DELE 1\r\n");
  EXPECT_EQ(d.send("QUIT\r\n"), "-ERR [SYS/TEMP] Some deleted messages were not removed, try again later.\r\n");
  EXPECT_TRUE(d.closed());
}

TEST(Pop3Session, UnreadableMessage) {
  Dialogue d;
  d.login();
  d.store.fail_open_message = true;
  EXPECT_EQ(d.send("RETR 1\r\n"), "-ERR Message is no longer available.\r\n");
  d.store.fail_open_message = false;
  d.store.fail_read_after = 0;
  EXPECT_EQ(d.send("RETR 1\r\n"), "-ERR [SYS/TEMP] Cannot read the message now, try again later.\r\n");
  EXPECT_EQ(d.s->state(), Session::State::Transaction);
}

TEST(Pop3Session, ReadFailureMidMessageCloses) {
  Dialogue d;
  std::string big(3 * kMessageChunk, 'x');
  d.messages = {big};
  d.login();
  d.store.fail_read_after = 1;
  const std::string got = d.send("RETR 1\r\n");
  EXPECT_EQ(got.rfind("+OK", 0), 0u);
  EXPECT_TRUE(d.closed());
}

TEST(Pop3Session, PipelinedCommandsAnsweredInOrder) {
  Dialogue d;
  EXPECT_EQ(d.send("USER alice@local.test\r\nPASS secret\r\nSTAT\r\nNOOP\r\nQUIT\r\n"),
            "+OK\r\n+OK Logged in.\r\n+OK 2 " + std::to_string(kMsg1.size() + kMsg2.size()) +
                "\r\n+OK\r\n+OK Logging out.\r\n");
  EXPECT_TRUE(d.closed());
}

// ------------------------------------------------------------- hostile input

TEST(Pop3Session, CommandsInTheWrongState) {
  Dialogue d;
  EXPECT_EQ(d.send("STAT\r\n"), "-ERR Not logged in.\r\n");
  EXPECT_EQ(d.send("RETR 1\r\n"), "-ERR Not logged in.\r\n");
  d.login();
  EXPECT_EQ(d.send("USER bob\r\n"), "-ERR Command not valid in this state.\r\n");
  EXPECT_EQ(d.send("AUTH PLAIN\r\n"), "-ERR Command not valid in this state.\r\n");
  EXPECT_EQ(d.send("STLS\r\n"), "-ERR Command not valid in this state.\r\n");
}

TEST(Pop3Session, OverlongLines) {
  Dialogue d;
  EXPECT_EQ(d.send("NOOP " + std::string(kMaxCommandLine, 'a') + "\r\n"), "-ERR Line too long.\r\n");
  // No line end within the AUTH limit: answered once, skipped to its end.
  EXPECT_EQ(d.send(std::string(kMaxAuthLine + 10, 'b')), "-ERR Line too long.\r\n");
  EXPECT_EQ(d.send(std::string(kMaxAuthLine, 'b')), "");
  EXPECT_EQ(d.send("bbb\r\nNOOP\r\n"), "+OK\r\n");
  // AUTH lines may be longer than commands.
  EXPECT_EQ(d.send("AUTH PLAIN " + std::string(2000, 'A') + "\r\n"), "-ERR [AUTH] Authentication failed.\r\n");
}

TEST(Pop3Session, NulAndBinaryGarbage) {
  Dialogue d;
  EXPECT_EQ(d.send(std::string("USER a\0b\r\n", 10)), "-ERR Invalid characters in command.\r\n");
  EXPECT_EQ(d.send(std::string("\x16\x03\x01\x02\x00\r\n", 7)), "-ERR Invalid characters in command.\r\n");
  EXPECT_EQ(d.send("\xff\xfe\r\n"), "-ERR Unknown command.\r\n");
  EXPECT_EQ(d.send("\r\n"), "-ERR Unknown command.\r\n");
}

TEST(Pop3Session, TooManyBadCommandsCloses) {
  Dialogue d;
  std::string answers;
  for (unsigned i = 0; i < kMaxBadCommands; ++i) answers += d.send("BOGUS\r\n");
  EXPECT_TRUE(d.closed());
  EXPECT_EQ(d.s->bad_commands(), kMaxBadCommands);
  EXPECT_NE(answers.find("-ERR Unknown command.\r\n-ERR Too many bad commands.\r\n"), std::string::npos);
  // Nothing after the close is read.
  EXPECT_EQ(d.send("NOOP\r\n"), "");
}

TEST(Pop3Session, BadCommandsPipelinedAllAtOnce) {
  Dialogue d;
  std::string flood;
  for (int i = 0; i < 1000; ++i) flood += "XYZZY\r\n";
  const std::string got = d.send(flood);
  EXPECT_TRUE(d.closed());
  EXPECT_LT(got.size(), 30u * (kMaxBadCommands + 1));
}

TEST(Pop3Session, EndingsAnswerErrAndCommitNothing) {
  {
    Dialogue d;
    d.login();
    d.send("DELE 1\r\n");
    d.out.clear();
    d.s->timed_out();
    d.pump();
    EXPECT_EQ(d.out, "-ERR Disconnected for inactivity.\r\n");
    EXPECT_TRUE(d.closed());
    EXPECT_EQ(d.store.commits, 0);
  }
  {
    Dialogue d;
    EXPECT_TRUE(d.s->idle());
    d.s->shutting_down();
    d.out.clear();
    d.pump();
    EXPECT_EQ(d.out, "-ERR Server shutting down.\r\n");
  }
  {
    Dialogue d;
    d.s->lifetime_ended();
    d.out.clear();
    d.pump();
    EXPECT_EQ(d.out, "-ERR Connection lifetime exceeded.\r\n");
  }
}

TEST(Pop3Session, IdleAndProgress) {
  Dialogue d;
  EXPECT_TRUE(d.s->idle());
  const uint64_t p0 = d.s->progress();
  d.send("NOO");
  EXPECT_FALSE(d.s->idle());  // a command under way
  EXPECT_EQ(d.s->progress(), p0);
  d.send("P\r\n");
  EXPECT_TRUE(d.s->idle());
  EXPECT_EQ(d.s->progress(), p0 + 1);
}

TEST(Pop3Session, PipelinedListingsAreWrittenAsTheyGo) {
  Dialogue d;
  d.messages.assign(2000, "Subject: x\r\n\r\nbody\r\n");
  d.login();
  d.largest_step_output = 0;
  std::string many;
  for (int i = 0; i < 200; ++i) many += "UIDL\r\n";
  const std::string got = d.send(many);
  EXPECT_GT(d.flushes, 10);
  EXPECT_LT(d.largest_step_output, 2 * kOutputHighWater);
  size_t ends = 0;
  for (size_t at = got.find("\r\n.\r\n"); at != std::string::npos; at = got.find("\r\n.\r\n", at + 1)) ++ends;
  EXPECT_EQ(ends, 200u);
}

TEST(Pop3Session, LargeListingIsWrittenInParts) {
  Dialogue d;
  d.messages.assign(20000, "Subject: x\r\n\r\nbody\r\n");
  d.login();
  d.send("DELE 5\r\n");
  d.largest_step_output = 0;
  const std::string got = d.send("UIDL\r\n");
  EXPECT_GT(d.flushes, 3);
  EXPECT_LT(d.largest_step_output, kOutputHighWater + 100);
  EXPECT_EQ(got.substr(got.size() - 5), "\r\n.\r\n");
  EXPECT_EQ(std::count(got.begin(), got.end(), '\n'), 1 + 19999 + 1);
  EXPECT_EQ(got.find("\r\n5 "), std::string::npos);
  EXPECT_EQ(d.send("NOOP\r\n"), "+OK\r\n");
}

TEST(Pop3Session, QuitBeforeLogin) {
  Dialogue d;
  EXPECT_EQ(d.send("QUIT\r\n"), "+OK Logging out.\r\n");
  EXPECT_TRUE(d.closed());
}

}  // namespace
}  // namespace volley::pop3
