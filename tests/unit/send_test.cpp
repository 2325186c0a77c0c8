// `volley send`: the admin socket's length-prefixed send request (parsing,
// hostile headers), the message preparation (CRLF, added fields), the CLI's
// refusals, and the daemon's framing over a real AdminServer: exact bytes
// taken, oversized size prefixes and truncated frames refused, and a
// message that looks like admin requests never read as one.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "admin/admin_client.hpp"
#include "admin/admin_protocol.hpp"
#include "admin/admin_server.hpp"
#include "admin/local_submission.hpp"
#include "admin/send_command.hpp"
#include "admin/send_message.hpp"
#include "admin/send_protocol.hpp"
#include "temp_dir.hpp"
#include "util/strings.hpp"

namespace volley::admin {
namespace {

const SendLimits kLimits{1000, 3};

std::string error_of(std::string_view line) {
  auto parsed = parse_send_request(line, kLimits);
  if (!parsed) return "<not a send request>";
  if (*parsed) return "<accepted>";
  return parsed->error().message;
}

TEST(SendProtocol, RoundTrip) {
  SendRequest r;
  r.from = "root@example.com";
  r.to = {"alice@local.test", "\"a b\"@example.net"};
  r.subject = "Grüße";
  r.size = 1000;
  const std::string line = make_send_request(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto parsed = parse_send_request(line, kLimits);
  ASSERT_TRUE(parsed && *parsed) << line;
  EXPECT_EQ((*parsed)->from, r.from);
  EXPECT_EQ((*parsed)->to, r.to);
  EXPECT_EQ((*parsed)->subject, r.subject);
  EXPECT_EQ((*parsed)->size, 1000u);

  r.subject.reset();
  r.size = 0;  // an empty message is a message (the daemon adds the headers)
  parsed = parse_send_request(make_send_request(r), kLimits);
  ASSERT_TRUE(parsed && *parsed);
  EXPECT_FALSE((*parsed)->subject.has_value());
}

TEST(SendProtocol, OtherLinesAreNotSendRequests) {
  for (const char* line : {"", "not json", "[1,2]", "{\"cmd\":\"count\"}", "{\"cmd\":\"SEND\"}", "{\"cmd\":7}", "{}"})
    EXPECT_FALSE(parse_send_request(line, kLimits).has_value()) << line;
}

TEST(SendProtocol, HostileHeadersAreRefused) {
  const std::string ok = R"("from":"a@x.test","to":["b@y.test"])";
  struct Case {
    std::string line;
    std::string error;  // a part of the refusal
  };
  const std::vector<Case> cases = {
      {"{\"cmd\":\"send\"," + ok + "}", "\"size\" must be a byte count"},
      {"{\"cmd\":\"send\"," + ok + ",\"size\":1001}", "message too large (1001 bytes; limit 1000"},
      {"{\"cmd\":\"send\"," + ok + ",\"size\":18446744073709551615}", "message too large"},
      {"{\"cmd\":\"send\"," + ok + ",\"size\":99999999999999999999999}", "\"size\" must be a byte count"},
      {"{\"cmd\":\"send\"," + ok + ",\"size\":1e3}", "\"size\" must be a byte count"},
      {"{\"cmd\":\"send\"," + ok + ",\"size\":-1}", "\"size\" must be a byte count"},
      {"{\"cmd\":\"send\"," + ok + ",\"size\":\"10\"}", "\"size\" must be a byte count"},
      {"{\"cmd\":\"send\"," + ok + ",\"size\":10,\"bcc\":[]}", "unknown field \"bcc\""},
      {R"({"cmd":"send","to":["b@y.test"],"size":1})", "missing \"from\""},
      {R"({"cmd":"send","from":"a@x.test","size":1})", "\"to\" must be a list"},
      {R"({"cmd":"send","from":"a@x.test","to":"b@y.test","size":1})", "\"to\" must be a list"},
      {R"({"cmd":"send","from":"a@x.test","to":[],"size":1})", "no recipients"},
      {R"({"cmd":"send","from":"a@x.test","to":["a@b.c","d@e.f","g@h.i","j@k.l"],"size":1})",
       "too many recipients (limit 3"},
      {R"({"cmd":"send","from":"a@x.test","to":[7],"size":1})", "\"to\" must be a list"},
      {R"({"cmd":"send","from":"a@x.test","to":["bob"],"size":1})", "to: bad address \"bob\""},
      {R"({"cmd":"send","from":"a@x.test","to":["<b@y.test>"],"size":1})", "to: bad address"},
      {R"({"cmd":"send","from":"a@x.test","to":["b@y.test;rm -rf /"],"size":1})", "to: bad address"},
      {R"({"cmd":"send","from":"a@@x.test","to":["b@y.test"],"size":1})", "from: bad address"},
      {R"({"cmd":"send","from":["a@x.test"],"to":["b@y.test"],"size":1})", "\"from\" must be a string"},
      {"{\"cmd\":\"send\"," + ok + ",\"subject\":\"a\\r\\nBcc: evil@x.test\",\"size\":1}", "CR, LF or NUL"},
      {"{\"cmd\":\"send\"," + ok + ",\"subject\":\"a\\u0000b\",\"size\":1}", "CR, LF or NUL"},
      {"{\"cmd\":\"send\"," + ok + ",\"subject\":\"" + std::string(901, 'x') + "\",\"size\":1}", "subject too long"},
      {"{\"cmd\":\"send\"," + ok + ",\"subject\":7,\"size\":1}", "\"subject\" must be a string"},
  };
  for (const auto& c : cases) EXPECT_NE(error_of(c.line).find(c.error), std::string::npos) << c.line << " -> " << error_of(c.line);
  // At the limit exactly: accepted.
  EXPECT_EQ(error_of("{\"cmd\":\"send\"," + ok + ",\"size\":1000}"), "<accepted>");
}

TEST(SendProtocol, Answers) {
  auto ok = nlohmann::json::parse(make_send_answer(std::string("0123456789ABCDEFGHIJ")));
  EXPECT_EQ(ok, (nlohmann::json{{"ok", true}, {"id", "0123456789ABCDEFGHIJ"}}));
  auto bad = nlohmann::json::parse(make_send_answer(make_error("no such local user \"x@y\"")));
  EXPECT_EQ(bad, (nlohmann::json{{"ok", false}, {"error", "no such local user \"x@y\""}}));
}

TEST(SendProtocol, LineHandlerNeverTakesASend) {
  class NoQueue final : public queue::QueueAdmin {
   public:
    std::vector<queue::QueueEntry> list(const queue::ListFilter&) const override { return {}; }
    size_t count() const override { return 0; }
    std::optional<queue::Message> show(const std::string&) const override { return std::nullopt; }
    Result<void> remove(const std::string&) override { return {}; }
  } q;
  auto j = nlohmann::json::parse(handle_admin_request(R"({"cmd":"send","size":0})", q));
  EXPECT_EQ(j["ok"], false);
}

TEST(SendMessage, CrlfLines) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"a", "a\r\n"},
      {"a\n", "a\r\n"},
      {"a\r\n", "a\r\n"},
      {"a\nb\n", "a\r\nb\r\n"},
      {"a\r\nb\nc", "a\r\nb\r\nc\r\n"},
      {"a\rb\r", "a\r\nb\r\n"},        // bare CR (old Mac files) ends a line too
      {"\n\n", "\r\n\r\n"},
      {"a\r\r\nb", "a\r\n\r\nb\r\n"},
      {std::string("\0x\n", 3), std::string("\0x\r\n", 4)},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(crlf_lines(in), want) << printable(in);
}

TEST(SendMessage, PrepareAddsOnlyMissingFields) {
  LocalMessageFields f;
  f.from = "root@example.com";
  f.stamp = {1700000000, "ABCDEF"};
  const std::string date = "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n";
  const std::string mid = "Message-ID: <ABCDEF@example.com>\r\n";
  const std::string from = "From: root@example.com\r\n";

  // No header block at all: the fields, an empty line, the text.
  EXPECT_EQ(prepare_local_message("Hello\nthere\n", f), from + date + mid + "\r\nHello\r\nthere\r\n");
  // Empty message: header fields and the empty line.
  EXPECT_EQ(prepare_local_message("", f), from + date + mid + "\r\n");
  // An empty first line: already the end of an (empty) header block.
  EXPECT_EQ(prepare_local_message("\nbody\n", f), from + date + mid + "\r\nbody\r\n");
  // A complete message keeps its own fields (any case).
  const std::string complete = "from: Me <me@x.test>\nDATE: Mon, 1 Jan 2024 00:00:00 +0000\nmessage-id: <1@x>\n\nbody\n";
  EXPECT_EQ(prepare_local_message(complete, f), crlf_lines(complete));
  // Some present, some missing: only the missing ones, before the block.
  EXPECT_EQ(prepare_local_message("From: Me <me@x.test>\nSubject: mine\n\nbody", f),
            date + mid + "From: Me <me@x.test>\r\nSubject: mine\r\n\r\nbody\r\n");

  // --subject: added when there is none, never replacing the message's own.
  f.subject = "Hello";
  EXPECT_EQ(prepare_local_message("text\n", f), from + "Subject: Hello\r\n" + date + mid + "\r\ntext\r\n");
  EXPECT_EQ(prepare_local_message("Subject: mine\n\nbody\n", f).find("Subject: Hello"), std::string::npos);
  // Non-ASCII: RFC 2047 encoded words, so the header stays 7-bit.
  f.subject = "Grüße";
  const std::string encoded = prepare_local_message("x\n", f);
  EXPECT_NE(encoded.find("Subject: =?"), std::string::npos) << encoded;
  EXPECT_EQ(encoded.find("Grüße"), std::string::npos) << encoded;
  // A body line that looks like a header field is only a header on the first line.
  f.subject.reset();
  EXPECT_EQ(prepare_local_message("Hi\nFrom: not a header\n", f), from + date + mid + "\r\nHi\r\nFrom: not a header\r\n");
}

TEST(SendCli, SplitRecipients) {
  auto r = split_recipients({"a@x.test", " b@y.test , c@z.test", "d@w.test,e@v.test"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(), (std::vector<std::string>{"a@x.test", "b@y.test", "c@z.test", "d@w.test", "e@v.test"}));
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {}, {""}, {"a@x.test,"}, {",a@x.test"}, {"a@x.test,,b@y.test"}, {"a@x.test", " "}})
    EXPECT_FALSE(split_recipients(bad)) << (bad.empty() ? "(none)" : bad.back());
}

TEST(SendCli, ReadBounded) {
  std::istringstream small("hello");
  auto r = read_bounded(small, 5);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(), "hello");
  std::istringstream big(std::string(200000, 'x'));
  auto over = read_bounded(big, 199999);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("message too large (more than 199999 bytes"), std::string::npos);
  std::istringstream exact(std::string(200000, 'x'));
  EXPECT_TRUE(read_bounded(exact, 200000));
}

struct CliRun {
  int code;
  std::string out, err;
};

CliRun run_send(const SendOptions& o, const std::string& data_dir, std::string stdin_bytes = "", bool tty = false,
                uint64_t max = 1000) {
  std::istringstream in(stdin_bytes);
  std::ostringstream out, err;
  int code = run_send_command(o, data_dir, max, in, tty, out, err);
  return {code, out.str(), err.str()};
}

SendOptions options(std::vector<std::string> to = {"alice@local.test"}) {
  SendOptions o;
  o.from = "root@local.test";
  o.to = std::move(to);
  return o;
}

TEST(SendCli, RefusedBeforeConnecting) {
  // No daemon on this data_dir: each refusal must come before reaching for it.
  const std::string nowhere = "/nonexistent/volley-send-test";
  struct Case {
    SendOptions o;
    std::string in;
    bool tty;
    std::string err;
  };
  SendOptions bad_from = options();
  bad_from.from = "root";
  SendOptions bad_subject = options();
  bad_subject.subject = "hi\r\nBcc: x@y.test";
  SendOptions missing_file = options();
  missing_file.file = "/nonexistent/message.eml";
  const std::vector<Case> cases = {
      {bad_from, "x", false, "volley: send: --from: bad address \"root\""},
      {options({"alice"}), "x", false, "volley: send: --to: bad address \"alice\""},
      {options({"a@x.test,"}), "x", false, "volley: send: empty address in --to"},
      {bad_subject, "x", false, "volley: send: --subject: the subject must not contain CR, LF or NUL"},
      {options(), "", true, "volley: send: no message on stdin"},
      {options(), std::string(1001, 'x'), false, "volley: send: message too large (more than 1000 bytes"},
      {missing_file, "", false, "volley: send: cannot open /nonexistent/message.eml: No such file"},
  };
  for (const auto& c : cases) {
    CliRun r = run_send(c.o, nowhere, c.in, c.tty);
    EXPECT_EQ(r.code, 1) << c.err;
    EXPECT_EQ(r.err.rfind(c.err, 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(SendCli, DaemonNotRunningNamesTheSocket) {
  const std::string nowhere = "/nonexistent/volley-send-test";
  CliRun r = run_send(options(), nowhere, "hello\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "volley: send: cannot reach the running daemon at " + nowhere +
                       "/admin.sock: volley is not running (No such file or directory)\n");
}

// --- the daemon's framing, over a real AdminServer ---------------------------

class RecordingQueue final : public queue::QueueAdmin {
 public:
  std::vector<queue::QueueEntry> list(const queue::ListFilter&) const override { return {}; }
  size_t count() const override { return 42; }
  std::optional<queue::Message> show(const std::string&) const override { return std::nullopt; }
  Result<void> remove(const std::string& id) override {
    std::lock_guard lock(mu);
    removed.push_back(id);
    return {};
  }
  std::mutex mu;
  std::vector<std::string> removed;
};

class RecordingSubmission final : public LocalSubmission {
 public:
  SendLimits limits() const override { return SendLimits{kMax, 10}; }
  Result<std::string> submit(const SendRequest& request, std::string message, uid_t uid) override {
    std::lock_guard lock(mu);
    if (!refusal.empty()) return make_error(refusal);
    got.push_back({request, std::move(message), uid});
    return std::string("QUEUEID") + std::to_string(got.size());
  }
  struct Got {
    SendRequest request;
    std::string message;
    uid_t uid;
  };
  static constexpr uint64_t kMax = 256 * 1024;
  std::mutex mu;
  std::vector<Got> got;
  std::string refusal;
};

class AdminSendTest : public ::testing::Test {
 protected:
  void start(bool with_submission = true) {
    auto s = AdminServer::start(io_, dir_.path, queue_, {}, with_submission ? &submission_ : nullptr);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(s.value());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  std::string path() const { return socket_path(dir_.path); }

  // Raw bytes in, everything the server says until it hangs up (or 5 s).
  // `half_close`: shut our write side after sending (a truncated frame).
  std::string raw_exchange(std::string_view bytes, bool half_close) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path().c_str(), path().size() + 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (half_close) ::shutdown(fd, SHUT_WR);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return out;
  }

  static std::string header(uint64_t size, const std::string& to = "alice@local.test") {
    SendRequest r;
    r.from = "root@local.test";
    r.to = {to};
    r.size = size;
    return make_send_request(r);
  }

  test::TempDir dir_{"send"};
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
  RecordingQueue queue_;
  RecordingSubmission submission_;
  std::unique_ptr<AdminServer> server_;
  std::thread thread_;
};

TEST_F(AdminSendTest, TakesExactlyTheFramedBytes) {
  start();
  // Lines that are admin requests, a NUL, no final newline: all message.
  const std::string message = std::string("Subject: x\r\n\r\n{\"cmd\":\"delete\",\"id\":\"0123456789ABCDEFGHIJ\"}\n") +
                              std::string("\0\r\n.\r\n{\"cmd\":\"count\"}", 21);
  auto answer = exchange(path(), header(message.size()), message);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer.value(), R"({"ok":true,"id":"QUEUEID1"})");
  std::lock_guard lock(submission_.mu);
  ASSERT_EQ(submission_.got.size(), 1u);
  EXPECT_EQ(submission_.got[0].message, message);
  EXPECT_EQ(submission_.got[0].request.to, std::vector<std::string>{"alice@local.test"});
  EXPECT_EQ(submission_.got[0].uid, ::geteuid());
  EXPECT_TRUE(queue_.removed.empty()) << "a message line was read as a request";
}

TEST_F(AdminSendTest, LargeMessageAndFollowingRequestsOnOneConnection) {
  start();
  std::string big(RecordingSubmission::kMax, 'm');
  for (size_t i = 100; i < big.size(); i += 100) big[i] = '\n';
  const std::string bytes = header(big.size()) + "\n" + big + header(3) + "\nabc{\"cmd\":\"count\"}\n";
  std::string got = raw_exchange(bytes, true);
  EXPECT_EQ(got, "{\"ok\":true,\"id\":\"QUEUEID1\"}\n{\"ok\":true,\"id\":\"QUEUEID2\"}\n{\"ok\":true,\"count\":42}\n");
  std::lock_guard lock(submission_.mu);
  ASSERT_EQ(submission_.got.size(), 2u);
  EXPECT_EQ(submission_.got[0].message, big);
  EXPECT_EQ(submission_.got[1].message, "abc");
}

TEST_F(AdminSendTest, OversizedLengthPrefixIsRefusedUnread) {
  start();
  // Size over the limit: refused from the line alone, and the connection
  // ends, so the "message" is never read (as a message or as requests).
  std::string got = raw_exchange(header(RecordingSubmission::kMax + 1) + "\n{\"cmd\":\"count\"}\n", false);
  EXPECT_EQ(got.find("{\"ok\":false,\"error\":\"message too large ("), 0u) << got;
  EXPECT_EQ(std::count(got.begin(), got.end(), '\n'), 1) << "one answer, then hung up: " << got;
  got = raw_exchange("{\"cmd\":\"send\",\"from\":\"a@x.test\",\"to\":[\"b@y.test\"],\"size\":1e99}\n", false);
  EXPECT_NE(got.find("\"size\\\" must be a byte count"), std::string::npos) << got;
  std::lock_guard lock(submission_.mu);
  EXPECT_TRUE(submission_.got.empty());
}

TEST_F(AdminSendTest, TruncatedFrameIsNotQueued) {
  start();
  std::string got = raw_exchange(header(100) + "\nonly ten..", true);
  EXPECT_EQ(got, "{\"ok\":false,\"error\":\"message truncated: got 10 of 100 bytes\"}\n");
  got = raw_exchange(header(100) + "\n", true);
  EXPECT_EQ(got, "{\"ok\":false,\"error\":\"message truncated: got 0 of 100 bytes\"}\n");
  std::lock_guard lock(submission_.mu);
  EXPECT_TRUE(submission_.got.empty());
}

TEST_F(AdminSendTest, RefusalFromTheIntakeReachesTheClient) {
  start();
  submission_.refusal = "no such local user \"nobody@local.test\"";
  SendOptions o = options({"nobody@local.test"});
  std::istringstream in("hello\n");
  std::ostringstream out, err;
  EXPECT_EQ(run_send_command(o, dir_.path, 1000, in, false, out, err), 1);
  EXPECT_EQ(err.str(), "volley: send: no such local user \"nobody@local.test\"\n");
  EXPECT_EQ(out.str(), "");
}

TEST_F(AdminSendTest, CliPrintsTheQueueId) {
  start();
  SendOptions o = options({"alice@local.test, bob@local.test"});
  o.subject = "hi";
  CliRun r = run_send(o, dir_.path, "hello\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "queued QUEUEID1\n");
  std::lock_guard lock(submission_.mu);
  ASSERT_EQ(submission_.got.size(), 1u);
  EXPECT_EQ(submission_.got[0].request.to, (std::vector<std::string>{"alice@local.test", "bob@local.test"}));
  EXPECT_EQ(submission_.got[0].request.subject, std::optional<std::string>("hi"));
  EXPECT_EQ(submission_.got[0].message, "hello\n") << "sent as read; the daemon prepares it";
}

TEST_F(AdminSendTest, WithoutSubmissionTheFrameIsStillRespected) {
  start(/*with_submission=*/false);
  std::string got = raw_exchange(header(17) + "\n{\"cmd\":\"count\"}\n", false);
  EXPECT_EQ(got, "{\"ok\":false,\"error\":\"this daemon does not accept messages on its admin socket\"}\n");
  auto count = exchange(path(), make_count_request());
  ASSERT_TRUE(count);
  EXPECT_EQ(count.value(), R"({"ok":true,"count":42})");
}

}  // namespace
}  // namespace volley::admin
