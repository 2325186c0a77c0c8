// DATA / BDAT content readers. The byte-level rules are in data_reader.hpp;
// here the design points are:
//  - Runs of ordinary bytes are found with memchr and stored with one append;
//    only CR, LF, NUL and a line-initial "." go through the state machine.
//  - Every decision depends only on the state and the current byte, so any
//    split of the input into feed() calls gives the same result.
#include "smtp/data_reader.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace volley::smtp {
namespace detail {

// Next CR, LF or NUL at or after a position. Each character's next
// occurrence is cached and searched again only once passed, so a buffer is
// scanned at most once per character: linear even for a long line full of
// bare CRs (a naive "memchr for LF, then for CR before it" is quadratic).
class SpecialFinder {
 public:
  explicit SpecialFinder(std::string_view in) : in_(in) {}

  size_t next(size_t from) {
    size_t best = in_.size();
    for (size_t k = 0; k < kChars.size(); ++k) {
      if (!valid_[k] || cached_[k] < from) {
        cached_[k] = find(kChars[k], from);
        valid_[k] = true;
      }
      best = std::min(best, cached_[k]);
    }
    return best;
  }

 private:
  static constexpr std::array<char, 3> kChars = {'\r', '\n', '\0'};
  std::string_view in_;
  std::array<size_t, 3> cached_{};
  std::array<bool, 3> valid_{};

  size_t find(char c, size_t from) const {
    if (from >= in_.size()) return in_.size();
    const void* p = std::memchr(in_.data() + from, c, in_.size() - from);
    return p ? static_cast<size_t>(static_cast<const char*>(p) - in_.data()) : in_.size();
  }
};

namespace {
constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

uint64_t saturating_add(uint64_t a, uint64_t b) { return a > kUnlimited - b ? kUnlimited : a + b; }

// Bytes that still fit under `limit` (0 = unlimited) given `used`.
uint64_t room(uint64_t limit, uint64_t used) {
  if (limit == 0) return kUnlimited;
  return used >= limit ? 0 : limit - used;
}
}  // namespace

void ContentSink::text(std::string_view s) {
  if (verdict_ == Verdict::Ok) {
    const uint64_t size_room = room(limits_.max_size, size_);
    const uint64_t line_room = room(limits_.max_line, line_len_);
    // Whichever limit the bytes cross first wins; on the same byte, TooBig.
    if (s.size() > size_room || s.size() > line_room) {
      fail(size_room <= line_room ? Verdict::TooBig : Verdict::LineTooLong);
    } else {
      store(s);
    }
  }
  size_ = saturating_add(size_, s.size());
  line_len_ = saturating_add(line_len_, s.size());
}

void ContentSink::line_end() {
  if (verdict_ == Verdict::Ok) {
    if (room(limits_.max_size, size_) < 2) {
      fail(Verdict::TooBig);
    } else {
      store("\r\n");
    }
  }
  size_ = saturating_add(size_, 2);
  line_len_ = 0;
}

void ContentSink::store(std::string_view s) {
  const size_t need = body_.size() + s.size();
  const uint64_t limit = limits_.hold_limit;
  if (limit != 0 && need > body_.capacity() && (taken_ || 2 * body_.capacity() > limit)) {
    // Doubling now would overshoot the hold limit (at which the caller takes
    // the buffer out): grow to the limit exactly (or to what this append
    // needs), in a fresh string since std::string::reserve may double past
    // the request. Below half the limit, and so for every ordinary message,
    // the usual growth is kept.
    std::string bigger;
    bigger.reserve(std::max<size_t>(need, static_cast<size_t>(limit)));
    bigger.append(body_);
    body_.swap(bigger);
  }
  body_.append(s);
}

void ContentSink::fail(Verdict v) {
  if (verdict_ != Verdict::Ok) return;
  verdict_ = v;
  std::string().swap(body_);  // release the memory now: the content is refused
}

std::string ContentSink::take_body() {
  if (verdict_ != Verdict::Ok) return {};
  taken_ = true;
  std::string out;
  out.swap(body_);
  return out;
}

}  // namespace detail

namespace {
constexpr std::string_view kCr("\r", 1);
constexpr std::string_view kNul("\0", 1);
}  // namespace

// ---------------------------------------------------------------- DataReader

DataReader::DataReader(ContentLimits limits) : sink_(limits) {}

std::string DataReader::take_body() { return sink_.take_body(); }

// A CR not followed by LF: refused, but counted as content so size() and
// line lengths stay meaningful for the logs.
void DataReader::bare_cr() {
  sink_.fail(Verdict::BareCarriageReturn);
  sink_.text(kCr);
}

// In State::Text at `pos`: stores the run of ordinary bytes, then handles
// the special byte that ends it. Returns the next position.
size_t DataReader::scan_text(std::string_view in, size_t pos, detail::SpecialFinder& finder) {
  const size_t stop = finder.next(pos);
  if (stop > pos) sink_.text(in.substr(pos, stop - pos));
  if (stop == in.size()) return stop;
  switch (in[stop]) {
    case '\r':
      state_ = State::Cr;
      break;
    case '\n':  // bare LF: normalised, but the next line can never end the data
      sink_.line_end();
      state_ = State::LineStartAfterLf;
      break;
    default:  // NUL
      sink_.fail(Verdict::NulByte);
      sink_.text(kNul);
      break;
  }
  return stop + 1;
}

size_t DataReader::feed(std::string_view in) {
  if (done_) return 0;
  detail::SpecialFinder finder(in);
  size_t i = 0;
  // Cases that "continue" without advancing hand the same byte to State::Text.
  while (i < in.size()) {
    const char c = in[i];
    switch (state_) {
      case State::LineStart:
        state_ = c == '.' ? State::Dot : State::Text;
        if (c == '.') ++i;  // dot-unstuffing: the first dot is never content
        break;
      case State::LineStartAfterLf:
        state_ = State::Text;
        if (c == '.') ++i;
        break;
      case State::Dot:
        state_ = c == '\r' ? State::DotCr : State::Text;
        if (c == '\r') ++i;
        break;
      case State::DotCr:
        if (c == '\n') {  // <CRLF>.<CRLF>: its leading CRLF already ended the last line
          done_ = true;
          return i + 1;
        }
        bare_cr();
        state_ = State::Text;
        break;
      case State::Cr:
        if (c == '\n') {
          sink_.line_end();
          state_ = State::LineStart;
          ++i;
        } else {
          bare_cr();
          state_ = State::Text;
        }
        break;
      case State::Text:
        i = scan_text(in, i, finder);
        break;
    }
  }
  return i;
}

// --------------------------------------------------------------- ChunkReader

ChunkReader::ChunkReader(ContentLimits limits) : sink_(limits) {}

void ChunkReader::begin_chunk(uint64_t chunk_size) { remaining_ = chunk_size; }

void ChunkReader::bare_cr() {
  sink_.fail(Verdict::BareCarriageReturn);
  sink_.text(kCr);
}

size_t ChunkReader::feed(std::string_view in) {
  const std::string_view chunk = in.substr(0, static_cast<size_t>(std::min<uint64_t>(in.size(), remaining_)));
  detail::SpecialFinder finder(chunk);
  size_t i = 0;
  while (i < chunk.size()) {
    if (pending_cr_) {  // may be the CR of a CRLF split across chunks
      pending_cr_ = false;
      if (chunk[i] == '\n') {
        sink_.line_end();
        ++i;
      } else {
        bare_cr();
      }
      continue;
    }
    const size_t stop = finder.next(i);
    if (stop > i) sink_.text(chunk.substr(i, stop - i));
    if (stop == chunk.size()) break;
    if (chunk[stop] == '\r') {
      pending_cr_ = true;
    } else if (chunk[stop] == '\n') {
      sink_.line_end();  // bare LF, normalised
    } else {
      sink_.fail(Verdict::NulByte);
      sink_.text(kNul);
    }
    i = stop + 1;
  }
  remaining_ -= chunk.size();
  return chunk.size();
}

void ChunkReader::finish() {
  if (!pending_cr_) return;
  pending_cr_ = false;
  bare_cr();
}

std::string ChunkReader::take_body() { return sink_.take_body(); }

}  // namespace volley::smtp
