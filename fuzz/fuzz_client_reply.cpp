// libFuzzer target: the outbound client's protocol pieces.
//  1. ReplyReader: split independence (whole input, one fuzzer-chosen cut,
//     fixed-size pieces all give the same replies and the same error), the
//     invariants of every reply, and re-rendering a reply reads back equal.
//  2. parse_ehlo_reply and ServerReply::text() on every reply.
//  3. append_data_payload: un-dot-stuffing the payload gives the
//     CRLF-normalised content (a reference written here), only our own
//     terminator ends it, and the server's DataReader stores exactly that.
//  4. scan_content against a byte-by-byte reference.
//  5. RCPT ORCPT / MAIL ENVID values survive the server-side parser.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/address.hpp"
#include "delivery/client_capabilities.hpp"
#include "delivery/client_commands.hpp"
#include "delivery/client_content.hpp"
#include "delivery/client_reply.hpp"
#include "smtp/command.hpp"
#include "smtp/data_reader.hpp"

#include "fuzz_check.hpp"

namespace {

using namespace volley::delivery;  // the client pieces under test
using namespace volley::smtp;      // the server parsers they must round-trip through
using Status = ReplyReader::Status;

struct Limits {
  size_t max_line = ReplyReader::kDefaultMaxLine;
  size_t max_lines = ReplyReader::kDefaultMaxLines;
};

struct Outcome {
  std::vector<ServerReply> replies;
  Status last = Status::NeedMore;
  std::string error;
  bool operator==(const Outcome&) const = default;
};

// Feeds `pieces` one after the other; collects replies until an error.
Outcome read_pieces(const std::vector<std::string_view>& pieces, Limits limits) {
  ReplyReader reader(limits.max_line, limits.max_lines);
  Outcome out;
  for (std::string_view in : pieces) {
    if (in.empty()) continue;  // no call: the last status is that of the last bytes
    for (;;) {
      ServerReply r;
      const size_t before = in.size();
      out.last = reader.next(in, r);
      CHECK(in.size() <= before);
      if (out.last == Status::Error) {
        out.error = reader.error();
        CHECK(!out.error.empty());
        ServerReply again;
        std::string_view more = "250 ok\r\n";
        CHECK(reader.next(more, again) == Status::Error);  // final
        return out;
      }
      if (out.last == Status::NeedMore) {
        CHECK(in.empty());
        break;
      }
      CHECK(in.size() < before);  // a reply is at least one line
      out.replies.push_back(std::move(r));
      if (in.empty()) break;
    }
  }
  return out;
}

std::vector<std::string_view> split_every(std::string_view in, size_t n) {
  std::vector<std::string_view> out;
  for (size_t pos = 0; pos < in.size(); pos += n) out.push_back(in.substr(pos, n));
  return out;
}

void check_reply(const ServerReply& r, Limits limits) {
  CHECK(r.code >= 200 && r.code <= 599);
  CHECK(!r.lines.empty() && r.lines.size() <= limits.max_lines);
  for (const std::string& line : r.lines) {
    CHECK(line.size() + 4 <= limits.max_line || line.empty());
    CHECK(line.find('\n') == std::string::npos);
  }
  if (!r.enhanced.empty()) {
    CHECK(is_enhanced_status_code(r.enhanced));
    CHECK(r.enhanced[0] - '0' == r.code / 100);
    CHECK(r.lines[0].starts_with(r.enhanced));
  }
  CHECK(r.positive() + r.transient() + r.permanent() == 1);

  const std::string text = r.text();
  CHECK(text.size() <= ServerReply::kMaxTextLength);
  CHECK(text.starts_with(std::to_string(r.code)));
  for (char c : text) CHECK(c >= 0x20 && c < 0x7f);

  // Rendering the reply again gives bytes that read back as the same reply.
  std::string wire;
  for (size_t i = 0; i < r.lines.size(); ++i)
    wire += std::to_string(r.code) + (i + 1 < r.lines.size() ? "-" : " ") + r.lines[i] + "\r\n";
  ReplyReader reader(limits.max_line + 1, limits.max_lines);  // "NNN" may have become "NNN "
  std::string_view in = wire;
  ServerReply back;
  CHECK(reader.next(in, back) == Status::Ready);
  CHECK(in.empty());
  CHECK(back == r);

  const ServerCapabilities caps = parse_ehlo_reply(r);
  CHECK(caps.esmtp == (r.code / 100 == 2));
  CHECK(caps.esmtp || (!caps.pipelining && !caps.size && caps.auth.empty()));
  CHECK(caps.size || caps.max_size == 0);
  CHECK(caps.auth.size() <= ServerCapabilities::kMaxAuthMechanisms);
  for (const std::string& m : caps.auth) {
    CHECK(!m.empty() && m.size() <= ServerCapabilities::kMaxMechanismLength);
    for (char c : m) CHECK((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
    CHECK(std::count(caps.auth.begin(), caps.auth.end(), m) == 1);
  }
}

// ------------------------------------------------------------ DATA payload

// Reference: lines end at CRLF, a bare LF or a bare CR; each becomes CRLF;
// an unterminated last line gets one.
std::string normalise(std::string_view content) {
  std::string out;
  for (size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (c == '\r') {
      if (i + 1 < content.size() && content[i + 1] == '\n') ++i;
      out += "\r\n";
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

void check_payload(std::string_view content) {
  std::string payload = "X";  // appends, never replaces
  append_data_payload(payload, content);
  CHECK(payload.front() == 'X');
  payload.erase(0, 1);
  CHECK(payload.ends_with(".\r\n"));
  const std::string_view body = std::string_view(payload).substr(0, payload.size() - 3);
  // CRLF-only line endings, and our terminator is the only end of data.
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r') CHECK(i + 1 < body.size() && body[i + 1] == '\n');
    if (body[i] == '\n') CHECK(i > 0 && body[i - 1] == '\r');
  }
  CHECK(body.empty() || body.ends_with("\r\n"));
  CHECK(payload == ".\r\n" || payload.find("\r\n.\r\n") == payload.size() - 5);
  // Un-dot-stuffing gives back the normalised content.
  std::string unstuffed;
  bool line_start = true;
  for (size_t i = 0; i < body.size(); ++i) {
    if (line_start) {
      if (body[i] == '.') {
        CHECK(i + 1 < body.size() && body[i + 1] == '.');  // every leading dot is doubled
        ++i;
      }
    }
    unstuffed.push_back(body[i]);
    line_start = body[i] == '\n';
  }
  const std::string want = normalise(content);
  CHECK(unstuffed == want);
  // And our own server agrees.
  DataReader reader(ContentLimits{});
  CHECK(reader.feed(payload) == payload.size());
  CHECK(reader.done());
  if (reader.verdict() == Verdict::Ok) {
    CHECK(reader.take_body() == want);
  } else {
    CHECK(reader.verdict() == Verdict::NulByte);  // the only thing it refuses without limits
  }
}

void check_scan(std::string_view content) {
  const ContentTraits t = scan_content(content);
  bool eight_bit = false;
  size_t longest = 0, current = 0;
  for (size_t i = 0; i < content.size(); ++i) {
    const auto c = static_cast<unsigned char>(content[i]);
    eight_bit = eight_bit || c >= 0x80;
    if (c == '\n') {
      longest = std::max(longest, current);
      current = 0;
    } else if (!(c == '\r' && i + 1 < content.size() && content[i + 1] == '\n')) {
      ++current;
    }
  }
  longest = std::max(longest, current);
  CHECK(t.eight_bit == eight_bit);
  CHECK(t.longest_line == longest);
}

// ----------------------------------------------------- DSN parameter values

bool printable_utf8(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return !s.empty() && s.size() <= 500 && is_valid_utf8(s);
}

void check_dsn_params(std::string_view value) {
  ServerCapabilities caps;
  caps.dsn = true;
  if (printable_utf8(value)) {
    for (const char* type : {"rfc822", "utf-8"}) {
      volley::queue::Recipient r;
      r.address = "u@example.org";
      r.notify = kNotifyFailure | kNotifyDelay;
      r.orcpt_type = type;
      r.orcpt_address = std::string(value);
      const std::string line = rcpt_to_command(r, caps);
      CHECK(line.ends_with("\r\n") && line.find('\n') == line.size() - 1);
      const CommandLine cl = split_command(std::string_view(line).substr(0, line.size() - 2));
      const auto parsed = parse_rcpt(cl.argument, false);
      CHECK(parsed.ok);
      CHECK(parsed.value.notify == r.notify);
      CHECK(parsed.value.orcpt_type == type);
      CHECK(parsed.value.orcpt_address == value);
    }
  }
  const bool printable_ascii =
      !value.empty() && value.size() <= 100 && std::all_of(value.begin(), value.end(), [](char c) {
        return c >= 0x20 && c <= 0x7e;
      });
  volley::queue::Envelope env;
  env.sender = "s@example.com";
  env.dsn_envid = std::string(value);
  env.dsn_ret = "FULL";
  const std::string line = mail_from_command(env, value.size(), caps);
  CHECK(line.ends_with("\r\n") && line.find('\n') == line.size() - 1);
  if (printable_ascii) {
    const CommandLine cl = split_command(std::string_view(line).substr(0, line.size() - 2));
    const auto parsed = parse_mail(cl.argument, false);
    CHECK(parsed.ok);
    CHECK(parsed.value.envid == value);
    CHECK(parsed.value.ret == DsnRet::Full);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(bytes), size);
  // Plan bytes: piece size, cut point, limits.
  auto take = [&]() -> unsigned {
    if (in.empty()) return 0;
    const auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    return b;
  };
  const size_t piece = take() % 16 + 1;
  const unsigned cut_byte = take();
  const unsigned limit_byte = take();
  const size_t cut = cut_byte * in.size() / 255;
  Limits limits;
  if (limit_byte & 0x0f) limits.max_line = (limit_byte & 0x0f) * 8;
  if (limit_byte >> 4) limits.max_lines = limit_byte >> 4;

  const Outcome whole = read_pieces({in}, limits);
  CHECK(read_pieces({in.substr(0, cut), in.substr(cut)}, limits) == whole);
  CHECK(read_pieces(split_every(in, piece), limits) == whole);
  for (const ServerReply& r : whole.replies) check_reply(r, limits);

  check_payload(in);
  check_scan(in);
  check_dsn_params(in);
  return 0;
}
