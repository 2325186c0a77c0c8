// The HTTP request parser (http::RequestParser over Boost.Beast), the
// response writer and the message helpers. Framing cases include the
// request-smuggling classics: a request whose end two parsers could see in
// different places must be refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/limits.hpp"
#include "http/message.hpp"
#include "http/request_parser.hpp"
#include "http/response_writer.hpp"

using namespace std::string_literals;
using namespace volley;
using namespace volley::http;

namespace {

using S = RequestParser::Status;
using F = ParseFailure;

struct Case {
  const char* name;
  std::string input;
  S status;
  F failure = F::None;
  std::string body = "";
};

// Feeds everything at once, then (for NeedMore/HeaderDone) nothing more.
RequestParser& parse(RequestParser& p, std::string_view in) {
  size_t pos = 0;
  while (pos < in.size()) {
    const size_t n = p.feed(in.substr(pos));
    pos += n;
    if (n == 0 || p.status() == S::Complete || p.status() == S::Failed) break;
  }
  return p;
}

const std::string kGet = "GET /v1/x HTTP/1.1\r\nHost: a\r\n\r\n";

std::vector<Case> cases() {
  return {
      {"simple_get", kGet, S::Complete},
      {"http10_no_host", "GET / HTTP/1.0\r\n\r\n", S::Complete},
      {"leading_crlf_ignored", "\r\n\r\n" + kGet, S::Complete},
      {"content_length_body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", S::Complete, F::None, "hello"},
      {"partial_body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel", S::HeaderDone},
      {"chunked_body", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n",
       S::Complete, F::None, "hello world"},
      {"chunked_trailer", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: 1\r\n\r\n",
       S::Complete, F::None, "x"},
      {"incomplete_head", "GET / HTTP/1.1\r\nHost: a\r\n", S::NeedMore},
      // Smuggling and framing.
      {"cl_and_te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       S::Failed, F::BadRequest},
      {"te_and_cl", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
       S::Failed, F::BadRequest},
      {"duplicate_cl_same", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", S::Failed,
       F::BadRequest},
      {"duplicate_cl_differ", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
       S::Failed, F::BadRequest},
      {"cl_list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx", S::Failed, F::BadRequest},
      {"cl_sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", S::Failed, F::BadRequest},
      {"cl_hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\nx", S::Failed, F::BadRequest},
      {"te_not_chunked_last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", S::Failed,
       F::BadRequest},
      {"te_gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", S::Failed, F::BadRequest},
      {"te_gzip_chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", S::Failed,
       F::NotImplemented},
      {"te_twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       S::Failed, F::BadRequest},
      {"te_in_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", S::Failed, F::BadRequest},
      {"bad_chunk_size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
       S::Failed, F::BadRequest},
      {"chunk_size_overflow",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nx\r\n0\r\n\r\n", S::Failed},
      {"negative_chunk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n", S::Failed,
       F::BadRequest},
      {"chunk_missing_crlf", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n",
       S::Failed, F::BadRequest},
      {"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", S::Failed, F::BadRequest},
      {"space_before_first_field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", S::Failed, F::BadRequest},
      {"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", S::Failed, F::BadRequest},
      {"nul_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"s, S::Failed, F::BadRequest},
      {"bare_lf", "GET / HTTP/1.1\nHost: a\n\n", S::Failed, F::BadRequest},
      {"bare_cr", "GET / HTTP/1.1\rHost: a\r\n\r\n", S::Failed, F::BadRequest},
      {"no_host_11", "GET / HTTP/1.1\r\n\r\n", S::Failed, F::BadRequest},
      {"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", S::Failed, F::BadRequest},
      {"http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", S::Failed, F::BadRequest},
      {"http09", "GET /\r\n\r\n", S::Failed, F::BadRequest},
      {"bad_method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", S::Failed, F::BadRequest},
      {"space_in_target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", S::Failed, F::BadRequest},
      {"unknown_expect", "GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n", S::Failed, F::BadRequest},
      {"overlong_line", "GET /" + std::string(kMaxHeaderBytes, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", S::Failed,
       F::HeaderTooLarge},
      {"overlong_headers", "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(kMaxHeaderBytes, 'a') + "\r\n\r\n",
       S::Failed, F::HeaderTooLarge},
  };
}

class ParserTable : public ::testing::TestWithParam<Case> {};

TEST_P(ParserTable, Parses) {
  const Case& c = GetParam();
  RequestParser p(1000);
  parse(p, c.input);
  EXPECT_EQ(p.status(), c.status) << c.name << ": " << p.reason();
  if (c.status == S::Failed && c.failure != F::None) {
    EXPECT_EQ(p.failure(), c.failure) << c.name << ": " << p.reason();
  }
  if (c.status == S::Complete) {
    EXPECT_EQ(p.take_body(), c.body) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Http, ParserTable, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(HttpParser, HeadFields) {
  RequestParser p(1000);
  parse(p, "POST /v1/m?x=1 HTTP/1.1\r\nHost: h\r\nX-Two:  spaced value \r\nExpect: 100-continue\r\n"
           "Content-Length: 3\r\n\r\n");
  ASSERT_EQ(p.status(), S::HeaderDone);
  const RequestHead& h = p.head();
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/v1/m?x=1");
  EXPECT_EQ(h.version, 11u);
  ASSERT_EQ(h.headers.size(), 4u);
  EXPECT_EQ(h.headers[1].first, "X-Two");
  EXPECT_EQ(h.headers[1].second, "spaced value");
  EXPECT_TRUE(h.expect_continue);
  EXPECT_TRUE(h.has_body);
  EXPECT_TRUE(h.keep_alive);
}

TEST(HttpParser, KeepAliveRules) {
  struct {
    std::string in;
    bool keep;
  } rows[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
  };
  for (const auto& r : rows) {
    RequestParser p(10);
    parse(p, r.in);
    ASSERT_EQ(p.status(), S::Complete) << r.in;
    EXPECT_EQ(p.head().keep_alive, r.keep) << r.in;
  }
}

TEST(HttpParser, BodyLimitFromContentLengthBeforeBody) {
  RequestParser p(10);
  parse(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n");
  EXPECT_EQ(p.status(), S::Failed);
  EXPECT_EQ(p.failure(), F::BodyTooLarge);
}

TEST(HttpParser, ChunkedBodyLimit) {
  RequestParser p(10);
  parse(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
  EXPECT_EQ(p.status(), S::Failed);
  EXPECT_EQ(p.failure(), F::BodyTooLarge);
}

TEST(HttpParser, TooManyFields) {
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 0; i < kMaxHeaderFields; ++i) in += "X: y\r\n";
  in += "\r\n";
  RequestParser p(10);
  parse(p, in);
  EXPECT_EQ(p.failure(), F::HeaderTooLarge);
}

TEST(HttpParser, EndlessChunkExtensionIsRefused) {
  RequestParser p(1000);
  parse(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_EQ(p.status(), S::HeaderDone);
  const std::string ext = "5;" + std::string(8000, 'e');
  p.feed(ext);
  EXPECT_EQ(p.status(), S::Failed);
}

// Byte by byte, as a slow client sends it: the same request, the same result.
TEST(HttpParser, ByteAtATime) {
  const std::string in =
      "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET /next";
  RequestParser p(100);
  std::string buffered;
  size_t fed = 0;
  while (fed < in.size() && p.status() != S::Complete) {
    buffered += in[fed++];
    const size_t used = p.feed(buffered);
    buffered.erase(0, used);
  }
  ASSERT_EQ(p.status(), S::Complete);
  EXPECT_EQ(p.take_body(), "abcde");
  EXPECT_EQ(in.substr(fed - buffered.size()), "GET /next");
}

TEST(HttpParser, StopsAtTheEndOfARequest) {
  RequestParser p(100);
  const std::string two = kGet + kGet;
  const size_t used = p.feed(two);
  EXPECT_EQ(p.status(), S::Complete);
  EXPECT_EQ(used, kGet.size());
}

TEST(HttpMessage, PercentDecode) {
  EXPECT_EQ(percent_decode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_FALSE(percent_decode("%zz", false));
  EXPECT_FALSE(percent_decode("%2", false));
  EXPECT_FALSE(percent_decode("%", false));
  EXPECT_FALSE(percent_decode("a%00", false));
}

TEST(HttpMessage, QueryParamsAndHeaders) {
  Request r;
  r.query = "after=abc&type=bounced&limit=10&empty&x=a%26b";
  r.headers = {{"Content-Type", "application/json"}};
  EXPECT_EQ(r.query_param("type"), "bounced");
  EXPECT_EQ(r.query_param("x"), "a&b");
  EXPECT_EQ(r.query_param("empty"), "");
  EXPECT_FALSE(r.query_param("missing"));
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_FALSE(r.header("Accept"));
}

TEST(HttpMessage, ErrorShape) {
  Response r = Response::error(404, "not_found", "no such message");
  EXPECT_EQ(r.status, 404);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_EQ(j["error"]["message"], "no such message");
  EXPECT_EQ(j.size(), 1u);
}

TEST(HttpMessage, Date) { EXPECT_EQ(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT"); }

TEST(HttpResponseWriter, FramingAndHead) {
  Response r = Response::json(200, nlohmann::json{{"a", 1}});
  r.headers.emplace_back("Content-Length", "999");     // the session's, ignored
  r.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: x");  // response splitting, dropped
  ResponseMeta m;
  m.unix_seconds = 784111777;
  const std::string out = write_response(r, m);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: application/json\r\n"
            "Content-Length: 8\r\n\r\n{\"a\":1}\n");
  m.head = true;
  m.close = true;
  EXPECT_EQ(write_response(r, m),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: application/json\r\n"
            "Content-Length: 8\r\nConnection: close\r\n\r\n");
  m.head = false;
  m.close = false;
  m.version = 10;
  EXPECT_NE(write_response(r, m).find("Connection: keep-alive\r\n"), std::string::npos);
}

}  // namespace
