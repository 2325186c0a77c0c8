// libFuzzer target: the POP3 command-line parser and the multi-line
// (dot-stuffing) encoder on arbitrary bytes. Beyond "no crash, no UB" it
// checks the contracts the session relies on.
#include <cstdint>
#include <string>
#include <string_view>

#include "pop3/command.hpp"
#include "pop3/multiline.hpp"

#include "fuzz_check.hpp"

namespace {

using namespace volley::pop3;

bool within(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void check_parse(std::string_view line) {
  const CommandLine c = parse_command(line);
  CHECK(within(c.keyword, line) && within(c.rest, line));
  CHECK(c.keyword.find(' ') == std::string_view::npos);
  CHECK(c.keyword.size() + c.rest.size() <= line.size());
  CHECK(c.arg_count <= CommandLine::kMaxArgs);
  for (size_t i = 0; i < c.arg_count; ++i) {
    CHECK(!c.args[i].empty());
    CHECK(c.args[i].find(' ') == std::string_view::npos);
    CHECK(within(c.args[i], c.rest));
  }
  CHECK(!c.extra_args || c.arg_count == CommandLine::kMaxArgs);
  if (c.verb != Verb::Unknown) CHECK(c.keyword.size() == 3 || c.keyword.size() == 4);
  (void)has_forbidden_bytes(line);
  for (size_t i = 0; i < c.arg_count; ++i) {
    if (auto n = parse_message_number(c.args[i])) CHECK(*n >= 1 && *n <= kMaxMessageNumber);
    (void)parse_line_count(c.args[i]);
  }
}

// Undoes dot-stuffing; false if `wire` is not a well-formed multi-line body.
bool unstuff(std::string_view wire, std::string& out) {
  size_t at = 0;
  while (at < wire.size()) {
    const size_t lf = wire.find('\n', at);
    if (lf == std::string_view::npos) return false;
    std::string_view line = wire.substr(at, lf + 1 - at);
    at = lf + 1;
    if (line == ".\r\n") return at == wire.size();
    if (line.front() == '.') line.remove_prefix(1);
    out.append(line);
  }
  return false;
}

void check_encoder(std::string_view message, size_t cut) {
  // RETR: whatever the piece boundary, the client gets the message back.
  MultilineEncoder whole;
  std::string wire;
  CHECK(whole.feed(message.substr(0, cut), wire));
  CHECK(whole.feed(message.substr(cut), wire));
  whole.finish(wire);
  std::string back;
  CHECK(unstuff(wire, back));
  const bool ends_clean = message.empty() || message.back() == '\n';
  CHECK(ends_clean ? back == message : back == std::string(message) + "\r\n");
  // TOP: a prefix of the same bytes, always terminated.
  for (uint64_t lines : {uint64_t{0}, uint64_t{2}}) {
    MultilineEncoder top(lines);
    std::string twire;
    if (top.feed(message.substr(0, cut), twire)) top.feed(message.substr(cut), twire);
    top.finish(twire);
    std::string tback;
    CHECK(unstuff(twire, tback));
    CHECK(back.compare(0, tback.size(), tback) == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_parse(in);
  const size_t lf = in.find('\n');
  if (lf != std::string_view::npos) check_parse(in.substr(0, lf));
  check_encoder(in, size == 0 ? 0 : data[0] % (size + 1));
  return 0;
}
