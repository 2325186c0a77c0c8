// libFuzzer target: the SMTP command-line parsers on arbitrary bytes.
// Beyond "no crash, no UB" it checks the contracts the session relies on.
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "smtp/command.hpp"

#include "fuzz_check.hpp"

namespace {


using namespace volley::smtp;

// Error details are sent to the client: printable ASCII, never its bytes.
void check_detail(const ParseError& e) {
  CHECK(!e.detail.empty());
  for (char c : e.detail) CHECK(c >= 0x20 && c < 0x7f);
}

void check_split(std::string_view line) {
  const CommandLine cl = split_command(line);
  CHECK(cl.verb_text.find(' ') == std::string_view::npos);
  CHECK(cl.argument.empty() || (cl.argument.front() != ' ' && cl.argument.back() != ' '));
  CHECK(cl.verb_text.size() + cl.argument.size() <= line.size());
  (void)has_forbidden_bytes(line);
}

void check_mail(std::string_view arg, bool utf8_offered) {
  const auto r = parse_mail(arg, utf8_offered);
  if (!r.ok) return check_detail(r.error);
  CHECK(!r.value.path.needs_smtputf8 || (r.value.smtputf8 && utf8_offered));
  CHECK(!r.value.smtputf8 || utf8_offered);
  CHECK(r.value.envid.size() <= 100);
  CHECK(r.value.path.kind != PathKind::Postmaster);
}

void check_rcpt(std::string_view arg, bool smtputf8) {
  const auto r = parse_rcpt(arg, smtputf8);
  if (!r.ok) return check_detail(r.error);
  CHECK(!r.value.path.needs_smtputf8 || smtputf8);
  CHECK(r.value.path.kind != PathKind::Null);
  const unsigned n = r.value.notify;
  CHECK(n == kNotifyUnspecified || n == kNotifyNever || (n & kNotifyNever) == 0);
  CHECK(r.value.orcpt_address.size() <= 500);
  for (char c : r.value.orcpt_address) CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

void check_bdat(std::string_view arg) {
  const auto r = parse_bdat(arg);
  if (!r.ok) return check_detail(r.error);
  CHECK(r.value.size <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
}

void check_xtext(std::string_view in) {
  const std::string encoded = encode_xtext(in);
  const auto back = decode_xtext(encoded);
  CHECK(back && *back == in);
  if (const auto decoded = decode_xtext(in)) {
    CHECK(decoded->size() <= in.size());
    CHECK(decode_xtext(encode_xtext(*decoded)) == decoded);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_split(in);
  const CommandLine cl = split_command(in);
  // Both the argument as the session passes it and the raw input, so the
  // parsers also see leading spaces and verbs they would not normally get.
  for (std::string_view arg : {cl.argument, in}) {
    for (bool flag : {false, true}) {
      check_mail(arg, flag);
      check_rcpt(arg, flag);
    }
    check_bdat(arg);
  }
  check_xtext(in);
  return 0;
}
