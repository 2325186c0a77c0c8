// Large messages through the session in-process: content above
// limits.message_memory_threshold goes out in pieces (SpillRequest) to a real
// LogSpool body file, never more than the threshold plus one read held in
// memory; the committed message loads back byte for byte with the same trace
// headers a small message gets; every way a transfer can end without a
// commit leaves no body file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "queue/log_spool.hpp"
#include "smtp/session.hpp"
#include "util/base64.hpp"

namespace volley::smtp {
namespace {
namespace stdfs = std::filesystem;

constexpr uint64_t kThreshold = 1 << 20;
constexpr size_t kRead = 64 * 1024;  // what the connection loop reads at once

class NoDirectory : public Directory {
 public:
  bool is_local_domain(const std::string& d) const override { return d == "local.test"; }
  Result<std::vector<std::string>> local_targets(const std::string& a) const override {
    return a == "alice@local.test" ? std::vector<std::string>{a} : std::vector<std::string>{};
  }
  Result<void> check_sender(const std::string&, const Mailbox&) const override { return {}; }
  std::string postmaster() const override { return "postmaster@local.test"; }
  bool relay_allowed(const net::IpAddress&) const override { return false; }
};

// The connection loop's job, synchronously, against a real spool.
class SpillDialogue {
 public:
  explicit SpillDialogue(config::SmtpRole role = config::SmtpRole::Mx) {
    char tmpl[] = "/tmp/volley-spill-XXXXXX";
    dir = mkdtemp(tmpl);
    spool = std::move(queue::LogSpool::open(dir).value());
    settings.hostname = "mx.test";
    settings.listener_name = "test";
    settings.role = role;
    settings.tls_mode = config::TlsMode::None;
    settings.require_tls_for_auth = false;
    settings.limits.max_message_size = 50ull << 20;
    settings.limits.message_memory_threshold = kThreshold;
    client.ip = "192.0.2.7";
    client.address = *net::IpAddress::parse(client.ip);
    s = std::make_unique<Session>(settings, client, directory);
    s->start();
    pump();
  }
  ~SpillDialogue() {
    s.reset();
    body.reset();
    spool.reset();
    stdfs::remove_all(dir);
  }

  std::string send(std::string_view bytes) {
    std::string out;
    for (size_t at = 0; at < bytes.size(); at += kRead) {
      s->receive(bytes.substr(at, kRead));
      out += pump();
    }
    return out;
  }

  std::string pump() {
    std::string out;
    for (;;) {
      auto a = s->next();
      peak_message_memory = std::max(peak_message_memory, s->message_memory());
      peak_input_memory = std::max(peak_input_memory, s->input_memory());
      out += s->take_output();
      if (a == Session::Action::Read || a == Session::Action::Close) return out;
      if (a == Session::Action::Authenticate) s->auth_result(Result<std::string>(std::string("alice@local.test")));
      if (a == Session::Action::Commit) {
        auto m = s->take_commit();
        small.push_back(*m);
        s->commit_result(Result<void>{});
      }
      if (a == Session::Action::Spill) carry_out(s->take_spill());
    }
  }

  void carry_out(SpillRequest r) {
    ++spills;
    if (r.kind == SpillRequest::Kind::Discard) {
      ++discards;
      body.reset();  // removes the file
      return;
    }
    Result<void> w;
    if (!body) {
      auto created = spool->create_body(r.id);
      ASSERT_TRUE(created.ok());
      body = std::move(*created);
    }
    EXPECT_EQ(body->id(), r.id);
    if (fail_writes) w = make_error(ErrorCode::NoSpace, "disk full (test)");
    else w = body->append(r.bytes);
    if (r.kind == SpillRequest::Kind::Append) return s->spill_result(w);
    if (w) w = body->sync();
    if (w) {
      std::promise<Result<void>> p;
      spool->commit_stored(r.head, std::move(body), [&](Result<void> c) { p.set_value(c); });
      w = p.get_future().get();
    }
    body.reset();
    s->commit_result(w);
  }

  std::vector<std::string> body_files() const {
    std::vector<std::string> out;
    for (auto& e : stdfs::directory_iterator(dir + "/queue"))
      if (e.path().filename().string().rfind("body-", 0) == 0) out.push_back(e.path().string());
    return out;
  }

  std::string dir;
  std::unique_ptr<queue::LogSpool> spool;
  SessionSettings settings;
  ClientInfo client;
  NoDirectory directory;
  std::unique_ptr<Session> s;
  std::unique_ptr<queue::BodyFile> body;
  std::vector<queue::Message> small;
  size_t peak_message_memory = 0, peak_input_memory = 0;
  int spills = 0, discards = 0;
  bool fail_writes = false;
};

// A message of about `size` bytes: headers, then lines of varying length;
// `stuffed` is how it goes on the wire in DATA (dot-stuffed, ends with the
// end marker), `content` what must be stored.
struct BigMessage {
  std::string content, stuffed;
};
BigMessage big_message(size_t size, std::string headers = "Subject: big\r\nFrom: a@b.test\r\n") {
  BigMessage m;
  m.content = headers + "\r\n";
  for (size_t i = 0; m.content.size() < size; ++i) {
    std::string line = (i % 97 == 0 ? "." : "") + std::string(10 + i % 150, static_cast<char>('A' + i % 26));
    m.content += line + "\r\n";
  }
  m.stuffed.reserve(m.content.size() + m.content.size() / 50);
  size_t start = 0;
  while (start < m.content.size()) {
    size_t end = m.content.find("\r\n", start) + 2;
    if (m.content[start] == '.') m.stuffed += '.';
    m.stuffed.append(m.content, start, end - start);
    start = end;
  }
  m.stuffed += ".\r\n";
  return m;
}

bool starts(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

std::string queued_id(const std::string& reply) {
  auto at = reply.find("queued as ");
  return at == std::string::npos ? std::string() : reply.substr(at + 10, 20);
}

void check_stored(SpillDialogue& d, const std::string& reply, const std::string& content) {
  ASSERT_TRUE(starts(reply, "250 2.0.0 Ok: queued as ")) << reply.substr(0, 200);
  EXPECT_TRUE(d.small.empty()) << "a large message is never handed over whole";
  const std::string id = queued_id(reply);
  auto m = d.spool->load(id);
  ASSERT_TRUE(m) << id;
  EXPECT_EQ(m->envelope.sender, "s@example.org");
  EXPECT_TRUE(starts(m->content, "Received: from c ([192.0.2.7])\r\n")) << m->content.substr(0, 200);
  EXPECT_NE(m->content.find("\tby mx.test (Volley) with ESMTP id " + id), std::string::npos);
  ASSERT_GE(m->content.size(), content.size());
  EXPECT_TRUE(m->content.compare(m->content.size() - content.size(), content.size(), content) == 0)
      << "content byte-exact after load";
  EXPECT_EQ(d.body_files().size(), 1u);
}

TEST(SessionSpill, FiveMegabytesThroughDataHoldsAtMostTheThresholdPlusOneRead) {
  SpillDialogue d;
  auto msg = big_message(5 << 20);
  d.send("EHLO c\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  std::string r = d.send(msg.stuffed);
  check_stored(d, r, msg.content);
  EXPECT_GE(d.spills, 5);
  EXPECT_LE(d.peak_message_memory, kThreshold + kRead);
  EXPECT_LE(d.peak_input_memory, 2 * kRead);
}

TEST(SessionSpill, FiveMegabytesThroughBdatInSmallChunks) {
  SpillDialogue d;
  auto msg = big_message(5 << 20);
  d.send("EHLO c\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice@local.test>\r\n");
  const size_t chunk = 8000;
  std::string replies;
  for (size_t at = 0; at < msg.content.size(); at += chunk) {
    const size_t n = std::min(chunk, msg.content.size() - at);
    const bool last = at + n == msg.content.size();
    replies = d.send("BDAT " + std::to_string(n) + (last ? " LAST" : "") + "\r\n" + msg.content.substr(at, n));
    if (!last) {
      ASSERT_TRUE(starts(replies, "250 2.0.0 ")) << replies;
    }
  }
  check_stored(d, replies, msg.content);
  EXPECT_LE(d.peak_message_memory, kThreshold + kRead);
}

TEST(SessionSpill, TraceHeadersOfASubmittedLargeMessage) {
  for (bool has_fields : {false, true}) {
    SCOPED_TRACE(has_fields ? "author gave Message-ID and Date" : "author left them out");
    SpillDialogue d(config::SmtpRole::Submission);
    auto msg = big_message(3 << 20, has_fields ? "Message-ID: <m@b.test>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                                               : "Subject: no id\r\n");
    d.send("EHLO c\r\nAUTH PLAIN " + base64_encode(std::string("\0alice@local.test\0pw", 20)) + "\r\n");
    d.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<bob@remote.test>\r\nDATA\r\n");
    std::string r = d.send(msg.stuffed);
    ASSERT_TRUE(starts(r, "250 ")) << r;
    auto m = d.spool->load(queued_id(r));
    ASSERT_TRUE(m);
    const std::string head = m->content.substr(0, m->content.size() - msg.content.size());
    EXPECT_NE(head.find("by mx.test (Volley) with ESMTPA id"), std::string::npos) << head;
    EXPECT_EQ(head.find("\r\nMessage-ID: <" + m->envelope.id + "@mx.test>\r\n") != std::string::npos, !has_fields) << head;
    EXPECT_EQ(head.find("\r\nDate: ") != std::string::npos, !has_fields) << head;
  }
}

TEST(SessionSpill, SmallMessagesAreNotSpilled) {
  SpillDialogue d;
  auto msg = big_message(kThreshold - 4096);
  d.send("EHLO c\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  EXPECT_TRUE(starts(d.send(msg.stuffed), "250 "));
  EXPECT_EQ(d.spills, 0);
  ASSERT_EQ(d.small.size(), 1u);
  EXPECT_TRUE(d.small[0].content.ends_with(msg.content));
}

// Each way a large transfer can end without a commit: the body file goes at once.
struct AbortCase {
  const char* name;
  std::function<std::string(SpillDialogue&, const BigMessage&)> run;
  const char* reply;  // expected final reply prefix
  friend void PrintTo(const AbortCase& c, std::ostream* os) { *os << c.name; }
};

class SessionSpillAbort : public ::testing::TestWithParam<AbortCase> {};

TEST_P(SessionSpillAbort, LeavesNoBodyFile) {
  const auto& c = GetParam();
  SpillDialogue d;
  auto msg = big_message(3 << 20);
  d.send("EHLO c\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice@local.test>\r\n");
  std::string r = c.run(d, msg);
  EXPECT_NE(r.find(c.reply), std::string::npos) << c.name << ": " << r.substr(0, 300);
  EXPECT_GE(d.spills, 1) << "the transfer had started to spill";
  EXPECT_TRUE(d.body_files().empty()) << c.name;
  EXPECT_EQ(d.spool->count(), 0u);
}

const AbortCase kAbortCases[] = {
    {"bare CR at the end", [](SpillDialogue& d, const BigMessage& m) {
       return d.send("DATA\r\n" + m.stuffed.substr(0, m.stuffed.size() - 3) + "bare\rCR\r\n.\r\n");
     }, "550 5.6.0"},
    {"write fails", [](SpillDialogue& d, const BigMessage& m) {
       d.fail_writes = true;
       return d.send("DATA\r\n" + m.stuffed);
     }, "452 4.3.1"},
    {"rset between chunks", [](SpillDialogue& d, const BigMessage& m) {
       d.send("BDAT 2000000\r\n" + m.content.substr(0, 2000000));
       return d.send("RSET\r\n");
     }, "250 2.0.0"},
    {"timeout mid data", [](SpillDialogue& d, const BigMessage& m) {
       d.send("DATA\r\n" + m.stuffed.substr(0, 2 << 20));
       d.s->timed_out();
       return d.pump();
     }, "421 4.4.2"},
    {"shutdown mid bdat", [](SpillDialogue& d, const BigMessage& m) {
       d.send("BDAT 3000000\r\n" + m.content.substr(0, 2000000));
       d.s->shutting_down();
       return d.pump();
     }, "421 4.3.2"},
};

INSTANTIATE_TEST_SUITE_P(Cases, SessionSpillAbort, ::testing::ValuesIn(kAbortCases),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (auto& ch : n) if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(SessionSpill, TooBigAfterSpillingIsRefusedAndRemoved) {
  SpillDialogue d;
  d.settings.limits.max_message_size = 2 << 20;
  d.s = std::make_unique<Session>(d.settings, d.client, d.directory);
  d.s->start();
  d.pump();
  auto msg = big_message(3 << 20);
  d.send("EHLO c\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  std::string r = d.send(msg.stuffed);
  EXPECT_TRUE(starts(r, "552 5.3.4")) << r;
  EXPECT_GE(d.spills, 1);
  EXPECT_TRUE(d.body_files().empty());
}

TEST(SessionSpill, MailLoopIsRefusedWithoutWritingAnything) {
  SpillDialogue d;
  std::string hops;
  for (int i = 0; i < 60; ++i) hops += "Received: from hop" + std::to_string(i) + " by x\r\n";
  auto msg = big_message(3 << 20, hops);
  d.send("EHLO c\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  EXPECT_TRUE(starts(d.send(msg.stuffed), "554 5.4.6"));
  EXPECT_EQ(d.spills, 0) << "a looping message is read and dropped, never written";
  EXPECT_TRUE(d.body_files().empty());
}

TEST(SessionSpill, TwoLargeMessagesOnOneConnection) {
  SpillDialogue d;
  auto a = big_message(2 << 20, "Subject: first\r\n"), b = big_message(3 << 20, "Subject: second\r\n");
  d.send("EHLO c\r\n");
  std::string ra = d.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n" + a.stuffed);
  std::string rb = d.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n" + b.stuffed);
  ASSERT_NE(ra.find("250 2.0.0 Ok: queued as "), std::string::npos) << ra;
  ASSERT_NE(rb.find("250 2.0.0 Ok: queued as "), std::string::npos) << rb;
  auto ma = d.spool->load(queued_id(ra.substr(ra.find("250 2.0.0 Ok"))));
  auto mb = d.spool->load(queued_id(rb.substr(rb.find("250 2.0.0 Ok"))));
  ASSERT_TRUE(ma && mb);
  EXPECT_TRUE(ma->content.ends_with(a.content));
  EXPECT_TRUE(mb->content.ends_with(b.content));
  EXPECT_EQ(d.body_files().size(), 2u);
}

}  // namespace
}  // namespace volley::smtp
