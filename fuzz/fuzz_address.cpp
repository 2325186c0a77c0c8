// libFuzzer target: path and mailbox parsing under every option set, with
// the canonical-form round trip the rest of the server depends on (an
// address we accepted and stored must parse back to the same mailbox).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/address.hpp"
#include "util/strings.hpp"

#include "fuzz_check.hpp"

namespace {


using namespace volley::smtp;

bool same(const Mailbox& a, const Mailbox& b) { return a.local == b.local && a.domain == b.domain; }

bool has_control(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

void check_detail(const AddressError& e) {
  CHECK(!e.detail.empty());
  for (char c : e.detail) CHECK(c >= 0x20 && c < 0x7f);
}

void check_mailbox(const Mailbox& mb, bool allow_utf8, bool needs_smtputf8) {
  CHECK(!mb.local.empty() && !mb.domain.empty());
  CHECK(!has_control(mb.local) && !has_control(mb.domain));
  CHECK(is_valid_utf8(mb.local) && is_valid_utf8(mb.domain));
  CHECK(needs_smtputf8 == !(is_ascii(mb.local) && is_ascii(mb.domain)));
  CHECK(allow_utf8 || !needs_smtputf8);
  CHECK(mb.domain_is_literal() || is_valid_domain(mb.domain, allow_utf8));
  const std::string text = mb.to_string();
  CHECK(mb.lookup_key() == volley::to_lower(text));
  // Round trip, bare and bracketed.
  const PathResult bare = parse_mailbox(text, allow_utf8);
  CHECK(bare.ok && same(bare.value.path.mailbox, mb));
  const PathResult bracketed = parse_path("<" + text + ">", PathOptions{.allow_utf8 = allow_utf8});
  CHECK(bracketed.ok && same(bracketed.value.path.mailbox, mb));
  CHECK(bracketed.value.consumed == text.size() + 2);
}

void check_path(std::string_view in, const PathOptions& o) {
  const PathResult r = parse_path(in, o);
  if (!r.ok) {
    check_detail(r.error);
    return;
  }
  const Path& p = r.value.path;
  CHECK(r.value.consumed >= 2 && r.value.consumed <= in.size() && r.value.consumed <= 256);
  CHECK(in.front() == '<' && in[r.value.consumed - 1] == '>');
  switch (p.kind) {
    case PathKind::Null:
      CHECK(o.allow_null && r.value.consumed == 2 && p.mailbox.local.empty());
      break;
    case PathKind::Postmaster:
      CHECK(o.allow_postmaster && volley::iequals(p.mailbox.local, "Postmaster") && p.mailbox.domain.empty());
      break;
    case PathKind::Mailbox:
      check_mailbox(p.mailbox, o.allow_utf8, p.needs_smtputf8);
      break;
  }
  // Allowing UTF-8 only widens the language: an ASCII-accepted path parses
  // identically with it.
  if (!o.allow_utf8) {
    PathOptions wider = o;
    wider.allow_utf8 = true;
    const PathResult w = parse_path(in, wider);
    CHECK(w.ok && w.value.consumed == r.value.consumed && same(w.value.path.mailbox, p.mailbox));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int bits = 0; bits < 8; ++bits)
    check_path(in, PathOptions{.allow_null = (bits & 1) != 0,
                               .allow_postmaster = (bits & 2) != 0,
                               .allow_utf8 = (bits & 4) != 0});
  for (bool utf8 : {false, true}) {
    const PathResult r = parse_mailbox(in, utf8);
    if (!r.ok) {
      check_detail(r.error);
      continue;
    }
    CHECK(r.value.consumed == in.size() && r.value.path.kind == PathKind::Mailbox);
    check_mailbox(r.value.path.mailbox, utf8, r.value.path.needs_smtputf8);
  }
  (void)is_valid_domain(in, false);
  (void)is_valid_domain(in, true);
  // HELO/EHLO: what is accepted is bounded, UTF-8, free of controls, spaces
  // and angle brackets, and a name or a literal that parses as an address.
  if (is_valid_helo_argument(in)) {
    CHECK(!in.empty() && in.size() <= 255 && is_valid_utf8(in) && !has_control(in));
    for (char c : in) CHECK(c != ' ' && c != '<' && c != '>' && c != '@');
    if (in.front() == '[') CHECK(parse_mailbox("x@" + std::string(in)).ok);
  }
  // A mailbox name (users, Maildir directories) never holds a path separator
  // and never starts with a dot.
  if (const PathResult r = parse_mailbox(in, true); r.ok && !mailbox_name_problem(r.value.path.mailbox)) {
    const Mailbox& mb = r.value.path.mailbox;
    CHECK(mb.local.find('/') == std::string::npos && mb.local.front() != '.' && !mb.domain_is_literal());
  }
  return 0;
}
