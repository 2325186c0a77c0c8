// The HTTP/1.1 request parser (RFC 9112): bytes in, a request head and body
// out, no I/O. Boost.Beast's sans-I/O parser does the work inside
// request_parser.cpp only, so no other file pays for Boost's headers; this
// interface is ours (docs/architecture.md says why Beast).
//
// Framing is strict, because two parsers that disagree on where a request
// ends are how requests are smuggled past proxies: both Content-Length and
// Transfer-Encoding, more than one Content-Length, a transfer coding other
// than "chunked", Transfer-Encoding in HTTP/1.0, obs-fold, NUL, bare CR or
// LF, a missing or repeated Host in HTTP/1.1 are all refused (400).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace volley::http {

struct RequestHead {
  std::string method;
  std::string target;
  unsigned version = 11;  // 10 or 11
  HeaderList headers;
  bool keep_alive = true;       // after this request (HTTP/1.1 default; Connection: close; 1.0 rules)
  bool expect_continue = false; // Expect: 100-continue
  bool has_body = false;        // a Content-Length > 0 or chunked
};

enum class ParseFailure {
  None,
  BadRequest,      // 400: malformed, or ambiguous framing
  HeaderTooLarge,  // 431: more than kMaxHeaderBytes or kMaxHeaderFields
  BodyTooLarge,    // 413: Content-Length or chunks beyond the body limit
  NotImplemented,  // 501: a transfer coding we do not decode
};

class RequestParser {
 public:
  enum class Status {
    NeedMore,    // give it more bytes
    HeaderDone,  // the head is complete (head()); the body follows (feed more)
    Complete,    // head() and take_body() hold the whole request
    Failed,      // failure(), reason(): answer and close
  };

  explicit RequestParser(uint64_t max_body);
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses what it can of `bytes` and returns how many it used. Bytes not
  // used must be presented again, with more after them (an incomplete head
  // is parsed only once it is all there). Stops after the head (HeaderDone)
  // so the caller can answer 100-continue or refuse early, and after a
  // complete request (the rest belongs to the next one).
  size_t feed(std::string_view bytes);
  Status status() const { return status_; }
  ParseFailure failure() const { return failure_; }
  const std::string& reason() const { return reason_; }  // for the error message and the log
  const RequestHead& head() const { return head_; }
  std::string take_body() { return std::move(body_); }

 private:
  struct Impl;
  void fail(ParseFailure f, std::string reason);
  size_t feed_head(std::string_view bytes);
  bool check_head();

  std::unique_ptr<Impl> impl_;
  Status status_ = Status::NeedMore;
  ParseFailure failure_ = ParseFailure::None;
  std::string reason_;
  RequestHead head_;
  std::string body_;
  bool head_scanned_ = false;
};

}  // namespace volley::http
