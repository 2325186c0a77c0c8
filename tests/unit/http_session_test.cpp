// http::Session dialogues over in-memory input: keep-alive, pipelining,
// HTTP/1.0, HEAD, 100-continue, limits and errors, deadlines per phase.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http_test_support.hpp"

using namespace std::chrono_literals;
using namespace volley;
using namespace volley::http;
using volley::test::drive;

namespace {

struct HttpSessionTest : ::testing::Test {
  test::TestApi t;
  FakeClock clock;
  SessionSettings settings;
  std::unique_ptr<Session> s;
  bool draining = false;

  void open(SessionSettings custom = {}) {
    settings = std::move(custom);
    settings.draining = [this] { return draining; };
    net::Peer peer;
    peer.ip = "192.0.2.1";
    s = std::make_unique<Session>(settings, t.api(), peer, clock);
  }
  std::string send(std::string_view bytes, int* handled = nullptr) {
    s->receive(bytes);
    return drive(*s, handled);
  }
  static size_t count(const std::string& hay, std::string_view needle) {
    size_t n = 0;
    for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
  }
};

const std::string kSelf = "GET /v1/apikeys/self HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-send\r\n\r\n";

TEST_F(HttpSessionTest, AnswersAndKeepsAlive) {
  open();
  EXPECT_EQ(s->next(), Session::Action::Read);
  EXPECT_TRUE(s->idle());
  int handled = 0;
  const std::string out = send(kSelf, &handled);
  EXPECT_EQ(handled, 1);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\n")) << out;
  EXPECT_NE(out.find("Date: "), std::string::npos);
  EXPECT_NE(out.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Connection: close"), std::string::npos);
  const auto body = nlohmann::json::parse(out.substr(out.find("\r\n\r\n") + 4));
  EXPECT_EQ(body["name"], "app");
  EXPECT_EQ(body["scope"], "send");
  EXPECT_EQ(s->next(), Session::Action::Read);
  EXPECT_TRUE(s->idle());
  // A second request on the same connection.
  EXPECT_TRUE(send(kSelf).starts_with("HTTP/1.1 200 OK"));
  EXPECT_EQ(s->requests(), 2u);
}

TEST_F(HttpSessionTest, PipelinedRequestsAnsweredInOrder) {
  open();
  const std::string echo1 = "POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-send\r\nContent-Length: 5\r\n\r\nfirst";
  const std::string echo2 = "POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-send\r\nContent-Length: 6\r\n\r\nsecond";
  s->receive(echo1 + echo2 + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  // The first handler is asked for while the others stay buffered.
  ASSERT_EQ(s->next(), Session::Action::Handle);
  EXPECT_FALSE(s->idle());
  Job j = s->take_job();
  EXPECT_EQ(j.request.body, "first");
  s->handled(run_job(j));
  const std::string out = drive(*s);
  const size_t a = out.find("first"), b = out.find("second"), c = out.find("404 Not Found");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  ASSERT_NE(c, std::string::npos) << out;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(s->requests(), 3u);
}

TEST_F(HttpSessionTest, ConnectionCloseAndHttp10) {
  open();
  std::string out = send("GET /public/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(s->next(), Session::Action::Close);

  open();
  out = send("GET /public/a HTTP/1.0\r\n\r\n");
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(s->next(), Session::Action::Close);

  open();
  out = send("GET /public/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_NE(out.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(s->next(), Session::Action::Read);
}

TEST_F(HttpSessionTest, HeadAnswersLikeGetWithoutBody) {
  open();
  const std::string get = send("GET /public/abcdef HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string head = send("HEAD /public/abcdef HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(get.find("Content-Length: 6\r\n"), std::string::npos);
  EXPECT_NE(head.find("Content-Length: 6\r\n"), std::string::npos);
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
  EXPECT_TRUE(get.ends_with("abcdef"));
}

TEST_F(HttpSessionTest, PathParamsAreDecoded) {
  open();
  EXPECT_TRUE(send("GET /public/a%40b.c HTTP/1.1\r\nHost: x\r\n\r\n").ends_with("a@b.c"));
  EXPECT_NE(send("GET /public/a%zz HTTP/1.1\r\nHost: x\r\n\r\n").find("400 Bad Request"), std::string::npos);
}

TEST_F(HttpSessionTest, ExpectContinue) {
  open();
  std::string out = send("POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-send\r\n"
                         "Expect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_EQ(out, "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(s->phase(), Session::Phase::Body);
  out = send("body");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK")) << out;
  EXPECT_TRUE(out.ends_with("body"));
}

TEST_F(HttpSessionTest, TooLargeByContentLengthAnsweredBeforeTheBody) {
  SessionSettings small;
  small.max_body = 10;
  open(small);
  const std::string out = send("POST /v1/echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 413 Content Too Large\r\n")) << out;
  EXPECT_EQ(out.find("100 Continue"), std::string::npos);
  EXPECT_NE(out.find("\"too_large\""), std::string::npos);
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  EXPECT_EQ(s->next(), Session::Action::Close);
}

TEST_F(HttpSessionTest, BadRequestClosesAndIgnoresWhatFollows) {
  open();
  const std::string out = send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx" + kSelf);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400 Bad Request\r\n")) << out;
  EXPECT_EQ(count(out, "HTTP/1.1 "), 1u);
  EXPECT_EQ(s->next(), Session::Action::Close);
}

TEST_F(HttpSessionTest, HeaderTooLarge) {
  open();
  const std::string out = send("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(kMaxHeaderBytes, 'a'));
  EXPECT_TRUE(out.starts_with("HTTP/1.1 431 ")) << out;
  EXPECT_EQ(s->next(), Session::Action::Close);
}

TEST_F(HttpSessionTest, BadTargetAndAbsoluteForm) {
  open();
  EXPECT_NE(send("GET http://x/public/abs HTTP/1.1\r\nHost: x\r\n\r\n").find("\r\n\r\nabs"), std::string::npos);
  EXPECT_TRUE(send("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").starts_with("HTTP/1.1 400"));
}

TEST_F(HttpSessionTest, AuthErrors) {
  open();
  std::string out = send("GET /v1/apikeys/self HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 401 ")) << out;
  EXPECT_NE(out.find("WWW-Authenticate: Bearer\r\n"), std::string::npos);
  EXPECT_NE(out.find("\"unauthorized\""), std::string::npos);
  out = send("GET /v1/apikeys/self HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 401 ")) << out;
  out = send("POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-read\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 403 ")) << out;
  EXPECT_NE(out.find("\"forbidden\""), std::string::npos);
  out = send("POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-admin\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 ")) << out;
  out = send("DELETE /v1/echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 405 ")) << out;
  EXPECT_NE(out.find("Allow: POST\r\n"), std::string::npos);
  EXPECT_EQ(s->next(), Session::Action::Read);  // errors the client can fix keep the connection
}

TEST_F(HttpSessionTest, KeysUnavailableIs503) {
  t.keys->unavailable = true;
  open();
  EXPECT_TRUE(send(kSelf).starts_with("HTTP/1.1 503 "));
}

TEST_F(HttpSessionTest, HandlerExceptionIs500) {
  open();
  const std::string out = send("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 500 ")) << out;
  EXPECT_NE(out.find("\"internal\""), std::string::npos);
}

TEST_F(HttpSessionTest, RequestsPerConnectionLimit) {
  SessionSettings few;
  few.max_requests = 2;
  open(few);
  EXPECT_EQ(send("GET /public/a HTTP/1.1\r\nHost: x\r\n\r\n").find("Connection: close"), std::string::npos);
  EXPECT_NE(send("GET /public/a HTTP/1.1\r\nHost: x\r\n\r\n").find("Connection: close"), std::string::npos);
  EXPECT_EQ(s->next(), Session::Action::Close);
}

TEST_F(HttpSessionTest, DrainingAnswers503AndCloses) {
  open();
  draining = true;
  const std::string out = send(kSelf);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 503 ")) << out;
  EXPECT_NE(out.find("\"unavailable\""), std::string::npos);
  EXPECT_EQ(s->next(), Session::Action::Close);
}

TEST_F(HttpSessionTest, PhasesHaveTheirOwnDeadlines) {
  SessionSettings st;
  st.header_timeout = 7s;
  st.keepalive_timeout = 9s;
  st.body_idle_timeout = 11s;
  st.min_body_rate = 500;
  open(st);
  EXPECT_EQ(s->timing().whole, 7s);  // before the first request: the header timeout from connect
  const uint64_t p0 = s->progress();
  send("POST /v1/echo HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(s->phase(), Session::Phase::Head);
  EXPECT_GT(s->progress(), p0);
  EXPECT_EQ(s->timing().whole, 7s);
  const uint64_t p1 = s->progress();
  send("Authorization: Bearer k-send\r\nContent-Length: 2\r\n\r\nx");
  EXPECT_EQ(s->phase(), Session::Phase::Body);
  EXPECT_GT(s->progress(), p1);
  EXPECT_EQ(s->timing().idle, 11s);
  EXPECT_EQ(s->timing().min_rate, 500u);
  send("y");
  EXPECT_EQ(s->phase(), Session::Phase::Idle);
  EXPECT_EQ(s->timing().whole, 9s);
}

TEST_F(HttpSessionTest, TimeoutMidRequestIs408IdleIsSilent) {
  open();
  send("GET /v1/apik");
  s->timed_out();
  const std::string out = drive(*s);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 408 ")) << out;
  EXPECT_EQ(s->next(), Session::Action::Close);

  open();
  send(kSelf);
  s->timed_out();
  EXPECT_EQ(drive(*s), "");
  EXPECT_EQ(s->next(), Session::Action::Close);
}

TEST_F(HttpSessionTest, ConnectionLostDuringHandler) {
  open();
  s->receive(kSelf);
  ASSERT_EQ(s->next(), Session::Action::Handle);
  Job j = s->take_job();
  s->connection_lost();
  s->handled(run_job(j));
  EXPECT_EQ(s->take_output(), "");
  EXPECT_EQ(s->next(), Session::Action::Close);
}

TEST_F(HttpSessionTest, ManyPipelinedRequestsAreFlushedInParts) {
  open();
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
  s->receive(many);
  size_t flushes = 0;
  std::string out;
  for (;;) {
    auto a = s->next();
    std::string part = s->take_output();
    EXPECT_LE(part.size(), kOutputHighWater + 1024);
    out += part;
    if (a != Session::Action::Flush) break;
    ++flushes;
  }
  EXPECT_GT(flushes, 0u);
  EXPECT_EQ(count(out, "HTTP/1.1 404"), 1000u);  // kMaxRequestsPerConnection, then closed
  EXPECT_EQ(s->next(), Session::Action::Close);
}

}  // namespace
