// The one file that sees Boost.Beast (its parser is header-only and heavy to
// compile; nothing else should include it).
#include "http/request_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include "http/limits.hpp"
#include "util/strings.hpp"

namespace volley::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using beast::error_code;

// Bytes of a chunk header (size, extensions) or of the trailer section that
// may wait for their end: Beast parses each only once it is complete, so an
// endless chunk extension would otherwise be buffered without bound.
constexpr size_t kMaxChunkHeaderBytes = 4096;

// Framing problems Beast itself would accept (it unfolds obs-fold, and its
// CRLF handling is its own): checked on the raw head before Beast sees it.
// Sets `head_len` (through the blank line) when the head is complete.
std::optional<std::string> scan_head(std::string_view s, size_t& head_len) {
  head_len = 0;
  const size_t n = std::min(s.size(), kMaxHeaderBytes);
  for (size_t i = 0; i < n; ++i) {
    const char c = s[i];
    if (c == '\0') return "NUL in the request head";
    if (c == '\r' && i + 1 < s.size() && s[i + 1] != '\n') return "bare CR in the request head";
    if (c != '\n') continue;
    if (i == 0 || s[i - 1] != '\r') return "bare LF in the request head";
    if (i + 1 >= s.size()) break;
    const char next = s[i + 1];
    if (next == ' ' || next == '\t') return "obs-fold (a line starting with white space) in the request head";
    if (next == '\r' && i + 2 < s.size() && s[i + 2] == '\n') {
      head_len = i + 3;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

// Beast's parser with our callbacks: the head goes into a RequestHead, the
// body into a string, and the checks Beast does not make are made here.
class BeastRequestParser final : public bhttp::basic_parser<true> {
 public:
  BeastRequestParser(RequestHead& head, std::string& body, std::string& why) : head_(head), body_(body), why_(why) {}

  // The failure was a transfer coding we do not decode (501, not 400).
  bool not_implemented() const { return not_implemented_; }

 private:
  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target, int version,
                       error_code& ec) override {
    if (version != 10 && version != 11) return reject(ec, "HTTP version not supported");
    head_.method.assign(method.data(), method.size());
    head_.target.assign(target.data(), target.size());
    head_.version = static_cast<unsigned>(version);
  }
  void on_response_impl(int, beast::string_view, int, error_code& ec) override { ec = bhttp::error::bad_version; }

  void on_field_impl(bhttp::field f, beast::string_view name, beast::string_view value, error_code& ec) override {
    if (header_done_) return;  // trailer fields: not part of the request we hand on
    if (head_.headers.size() >= kMaxHeaderFields) {
      ec = bhttp::error::header_limit;
      return;
    }
    const std::string_view v(value.data(), value.size());
    if (f == bhttp::field::content_length) {
      // Beast accepts "5, 5" and repeated equal values; a proxy in front
      // may not agree, so accept exactly one plain number.
      if (++content_lengths_ > 1) return reject(ec, "more than one Content-Length");
      if (!all_digits(v)) return reject(ec, "bad Content-Length");
    } else if (f == bhttp::field::transfer_encoding) {
      if (++transfer_encodings_ > 1) return reject(ec, "more than one Transfer-Encoding");
      transfer_encoding_ = std::string(trim(v));
    } else if (f == bhttp::field::host) {
      if (++hosts_ > 1) return reject(ec, "more than one Host");
    } else if (f == bhttp::field::expect) {
      expect_ = std::string(trim(v));
    }
    head_.headers.emplace_back(std::string(name.data(), name.size()), std::string(v));
  }

  void on_header_impl(error_code& ec) override {
    header_done_ = true;
    if (transfer_encodings_ > 0) {
      // RFC 9112 6.1: Transfer-Encoding in 1.0 means the framing is faulty.
      if (head_.version == 10) return reject(ec, "Transfer-Encoding in an HTTP/1.0 request");
      const std::string& te = transfer_encoding_;
      const size_t comma = te.rfind(',');
      const std::string_view last = trim(std::string_view(te).substr(comma == std::string::npos ? 0 : comma + 1));
      if (!iequals(last, "chunked")) return reject(ec, "Transfer-Encoding does not end in chunked");
      if (comma != std::string::npos) {
        not_implemented_ = true;
        return reject(ec, "transfer codings other than chunked are not supported");
      }
      chunked_ = true;
    }
    // RFC 9112 3.2: exactly one Host in HTTP/1.1.
    if (head_.version == 11 && hosts_ == 0) return reject(ec, "no Host header");
    head_.keep_alive = keep_alive();
    head_.expect_continue = head_.version == 11 && iequals(expect_, "100-continue");
    if (!expect_.empty() && !head_.expect_continue && head_.version == 11)
      return reject(ec, "unsupported Expect");
    const auto length = content_length();
    head_.has_body = chunked_ || (length && *length > 0);
  }

  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    if (length) body_.reserve(static_cast<size_t>(std::min<uint64_t>(*length, 1 << 20)));
  }
  std::size_t on_body_impl(beast::string_view b, error_code&) override {
    body_.append(b.data(), b.size());
    return b.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view b, error_code&) override {
    body_.append(b.data(), b.size());
    return b.size();
  }
  void on_finish_impl(error_code&) override {}

  void reject(error_code& ec, const char* why) {
    why_ = why;
    ec = bhttp::error::bad_value;
  }

  RequestHead& head_;
  std::string& body_;
  std::string& why_;
  bool header_done_ = false;
  bool chunked_ = false;
  bool not_implemented_ = false;
  unsigned content_lengths_ = 0, transfer_encodings_ = 0, hosts_ = 0;
  std::string transfer_encoding_, expect_;
};

struct RequestParser::Impl {
  Impl(RequestHead& head, std::string& body, std::string& why, uint64_t max_body) : parser(head, body, why) {
    parser.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes + 4));
    parser.body_limit(max_body);
    parser.eager(false);  // stop after the head
  }
  BeastRequestParser parser;
};

RequestParser::RequestParser(uint64_t max_body) : impl_(std::make_unique<Impl>(head_, body_, reason_, max_body)) {}
RequestParser::~RequestParser() = default;

void RequestParser::fail(ParseFailure f, std::string reason) {
  status_ = Status::Failed;
  failure_ = f;
  if (reason_.empty()) reason_ = std::move(reason);
}

namespace {
ParseFailure classify(const error_code& ec) {
  if (ec == bhttp::error::header_limit) return ParseFailure::HeaderTooLarge;
  if (ec == bhttp::error::body_limit) return ParseFailure::BodyTooLarge;
  return ParseFailure::BadRequest;
}
}  // namespace

size_t RequestParser::feed_head(std::string_view bytes) {
  // RFC 9112 2.2: empty lines before a request line are ignored (some
  // clients send CRLF after a POST body).
  size_t skip = 0;
  while (skip + 1 < bytes.size() && bytes[skip] == '\r' && bytes[skip + 1] == '\n') skip += 2;
  const std::string_view rest = bytes.substr(skip);
  size_t head_len = 0;
  if (auto problem = scan_head(rest, head_len)) {
    fail(ParseFailure::BadRequest, *problem);
    return skip;
  }
  if (head_len == 0) {
    if (rest.size() >= kMaxHeaderBytes) fail(ParseFailure::HeaderTooLarge, "request head over 16 KiB");
    return skip;
  }
  error_code ec;
  const size_t used = impl_->parser.put(boost::asio::const_buffer(rest.data(), head_len), ec);
  if (ec || !impl_->parser.is_header_done()) {
    if (impl_->parser.not_implemented()) {
      fail(ParseFailure::NotImplemented, "");
    } else {
      fail(ec ? classify(ec) : ParseFailure::BadRequest, ec ? ec.message() : "incomplete request head");
    }
    return skip + used;
  }
  head_scanned_ = true;
  status_ = impl_->parser.is_done() ? Status::Complete : Status::HeaderDone;
  return skip + used;
}

size_t RequestParser::feed(std::string_view bytes) {
  if (status_ == Status::Failed || status_ == Status::Complete) return 0;
  if (!head_scanned_) return feed_head(bytes);
  impl_->parser.eager(true);
  size_t used = 0;
  while (used < bytes.size() && !impl_->parser.is_done()) {
    error_code ec;
    const size_t n = impl_->parser.put(boost::asio::const_buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == bhttp::error::need_more) {
      if (n == 0 && bytes.size() - used > kMaxChunkHeaderBytes) fail(ParseFailure::BadRequest, "chunk header too long");
      break;
    }
    if (ec) {
      fail(classify(ec), ec.message());
      return used;
    }
    if (n == 0) break;
  }
  if (impl_->parser.is_done()) status_ = Status::Complete;
  return used;
}

}  // namespace volley::http
