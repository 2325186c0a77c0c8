// Message content readers for DATA (dot-terminated) and BDAT (length-counted).
// Pure incremental parsers: feed bytes, they consume what belongs to the
// message and stop; they never do I/O.
//
// Line endings (SMTP smuggling defence, CVE-2023-51764 class):
//  - Only <CRLF>.<CRLF> ends DATA. The "." line counts only when the line
//    before it ended with a real CRLF (or it is the first line) and the "."
//    is followed by CRLF. <LF>.<LF>, <LF>.<CRLF>, <CR>.<CR>, <CRLF>.<CR>,
//    <CRLF>.<LF> never end the message.
//  - A bare LF (LF not preceded by CR) is normalised to CRLF in the stored
//    body, as Postfix's smtpd_forbid_bare_newline=normalize does.
//  - A bare CR (CR not followed by LF) makes the message unacceptable
//    (Verdict::BareCarriageReturn); reading continues to the real end so the
//    dialogue stays in step, then the session answers 5xx.
//  - NUL bytes make the message unacceptable (Verdict::NulByte).
// The stored body always has CRLF line endings and no dot-stuffing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace volley::smtp {

enum class Verdict {
  Ok,
  TooBig,              // more than max_size bytes of content: 552 5.3.4
  LineTooLong,         // a line longer than max_line bytes (excluding CRLF): 500 5.5.2... answered as 552 5.3.4? see session
  BareCarriageReturn,  // 550 5.6.0
  NulByte,             // 550 5.6.0
};

struct ContentLimits {
  uint64_t max_size = 0;   // bytes of (normalised, unstuffed) content
  uint64_t max_line = 0;   // bytes per line excluding the line ending
  // The caller takes the content out (take_held) once this many bytes are
  // held, to stream a large message to disk: the buffer then never grows
  // past it plus one feed(). 0 = the whole body is held.
  uint64_t hold_limit = 0;
};

namespace detail {
class SpecialFinder;  // locates the next CR, LF or NUL (data_reader.cpp)

// Accounting shared by both readers: size and line limits, the first
// verdict, and the stored body. Limits are checked byte-exactly, so the
// verdict never depends on how the input was split into feed() calls.
// A limit of 0 means "no limit".
class ContentSink {
 public:
  explicit ContentSink(ContentLimits limits) : limits_(limits) {}
  void text(std::string_view s);  // bytes inside a line, no line ending
  void line_end();                // one CRLF
  void fail(Verdict v);
  Verdict verdict() const { return verdict_; }
  uint64_t size() const { return size_; }
  std::string take_body();
  // Content held now, and the memory holding it.
  uint64_t held() const { return body_.size(); }
  size_t held_capacity() const { return body_.capacity(); }

 private:
  void store(std::string_view s);

  ContentLimits limits_;
  std::string body_;
  uint64_t size_ = 0;
  uint64_t line_len_ = 0;
  Verdict verdict_ = Verdict::Ok;
  bool taken_ = false;  // take_body() has been called: a large message
};
}  // namespace detail

// Reads the body after "354" up to and including the terminating <CRLF>.<CRLF>.
class DataReader {
 public:
  explicit DataReader(ContentLimits limits);

  // Consumes bytes from `in`. Returns how many were consumed; after done()
  // becomes true it consumes nothing more, so the caller keeps the rest
  // (pipelined commands after the end of data) for the command parser.
  size_t feed(std::string_view in);
  bool done() const { return done_; }
  // First problem found; once not Ok, content is discarded (not stored) but
  // reading continues to the end marker.
  Verdict verdict() const { return sink_.verdict(); }
  // Bytes of content seen (counted even after TooBig, saturating), for logs.
  uint64_t size() const { return sink_.size(); }
  // The normalised content (empty if verdict() != Ok). Moves it out.
  // Called before done(), it returns the content so far (see
  // ContentLimits::hold_limit); the reader goes on from there.
  std::string take_body();
  uint64_t held() const { return sink_.held(); }
  size_t held_capacity() const { return sink_.held_capacity(); }

 private:
  // Line-state machine: where we are relative to the last line ending.
  enum class State : unsigned char {
    LineStart,         // after a real CRLF, or at the very start: "." may begin the end marker
    LineStartAfterLf,  // after a bare LF: "." is unstuffed but never ends the data
    Dot,               // "." at LineStart seen (and dropped)
    DotCr,             // ".<CR>" at LineStart seen: <LF> now ends the data
    Text,              // inside a line
    Cr,                // <CR> inside a line: must be followed by <LF>
  };
  detail::ContentSink sink_;
  State state_ = State::LineStart;
  bool done_ = false;
  size_t scan_text(std::string_view in, size_t pos, detail::SpecialFinder& finder);
  void bare_cr();
};

// Accumulates BDAT chunks (RFC 3030). The caller tells it how many bytes the
// current chunk has and feeds them; the content gets the same normalisation
// and checks as DATA except dot handling (there is none in BDAT).
class ChunkReader {
 public:
  explicit ChunkReader(ContentLimits limits);

  void begin_chunk(uint64_t chunk_size);
  // Consumes up to the remaining bytes of the current chunk; returns how many.
  size_t feed(std::string_view in);
  bool chunk_done() const { return remaining_ == 0; }
  // Call after the LAST chunk: a trailing lone CR becomes BareCarriageReturn.
  void finish();
  Verdict verdict() const { return sink_.verdict(); }
  uint64_t size() const { return sink_.size(); }
  // As DataReader::take_body: may be called between chunks and within one.
  std::string take_body();
  uint64_t held() const { return sink_.held(); }
  size_t held_capacity() const { return sink_.held_capacity(); }

 private:
  detail::ContentSink sink_;
  uint64_t remaining_ = 0;
  bool pending_cr_ = false;  // a chunk ended in <CR>: the next byte decides
  void bare_cr();
};

}  // namespace volley::smtp
