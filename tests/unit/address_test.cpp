#include "smtp/address.hpp"

#include <gtest/gtest.h>

#include <string>

#include "util/strings.hpp"

namespace volley::smtp {
namespace {

constexpr PathOptions kPlain{};
constexpr PathOptions kNull{.allow_null = true};
constexpr PathOptions kPostmaster{.allow_postmaster = true};
constexpr PathOptions kUtf8{.allow_utf8 = true};
constexpr PathOptions kAll{.allow_null = true, .allow_postmaster = true, .allow_utf8 = true};

std::string repeat(char c, size_t n) { return std::string(n, c); }

// ------------------------------------------------------------ accepted paths

struct Accepted {
  std::string input;
  PathOptions options;
  PathKind kind;
  std::string local;
  std::string domain;
  size_t consumed;  // 0 = the whole input
  bool route = false;
  bool utf8 = false;
};

void PrintTo(const Accepted& c, std::ostream* os) { *os << volley::printable(c.input); }

class PathAccepted : public ::testing::TestWithParam<Accepted> {};

TEST_P(PathAccepted, Parses) {
  const Accepted& c = GetParam();
  const PathResult r = parse_path(c.input, c.options);
  ASSERT_TRUE(r.ok) << r.error.detail;
  EXPECT_EQ(r.value.path.kind, c.kind);
  EXPECT_EQ(r.value.path.mailbox.local, c.local);
  EXPECT_EQ(r.value.path.mailbox.domain, c.domain);
  EXPECT_EQ(r.value.consumed, c.consumed ? c.consumed : c.input.size());
  EXPECT_EQ(r.value.path.had_source_route, c.route);
  EXPECT_EQ(r.value.path.needs_smtputf8, c.utf8);
}

TEST_P(PathAccepted, CanonicalFormRoundTrips) {
  const Accepted& c = GetParam();
  if (c.kind != PathKind::Mailbox) return;  // nothing to round-trip
  const Mailbox mb = parse_path(c.input, c.options).value.path.mailbox;
  const PathResult again = parse_path(concat("<", mb.to_string(), ">"), c.options);
  ASSERT_TRUE(again.ok) << again.error.detail;
  EXPECT_EQ(again.value.path.mailbox.local, mb.local);
  EXPECT_EQ(again.value.path.mailbox.domain, mb.domain);
}

const std::string kLocal64 = repeat('a', 64);
const std::string kLabel63 = repeat('b', 63);
// 1 + 64 + 1 + 189 + 1 = 256 octets: exactly the RFC 5321 path limit.
const std::string kDomain189 = kLabel63 + "." + kLabel63 + "." + repeat('c', 61);

INSTANTIATE_TEST_SUITE_P(
    Table, PathAccepted,
    ::testing::Values(
        Accepted{"<user@example.com>", kPlain, PathKind::Mailbox, "user", "example.com", 0},
        Accepted{"<User@Example.COM>", kPlain, PathKind::Mailbox, "User", "Example.COM", 0},
        Accepted{"<>", kNull, PathKind::Null, "", "", 0},
        Accepted{"<> SIZE=10", kNull, PathKind::Null, "", "", 2},
        Accepted{"<Postmaster>", kPostmaster, PathKind::Postmaster, "Postmaster", "", 0},
        Accepted{"<pOsTmAsTeR>", kPostmaster, PathKind::Postmaster, "pOsTmAsTeR", "", 0},
        Accepted{"<postmaster@example.com>", kPostmaster, PathKind::Mailbox, "postmaster", "example.com", 0},
        Accepted{"<first.last@sub.example.com>", kPlain, PathKind::Mailbox, "first.last", "sub.example.com", 0},
        Accepted{"<a-b@a-b.c-d>", kPlain, PathKind::Mailbox, "a-b", "a-b.c-d", 0},
        Accepted{"<user@localhost>", kPlain, PathKind::Mailbox, "user", "localhost", 0},
        Accepted{"<user@123.example>", kPlain, PathKind::Mailbox, "user", "123.example", 0},
        Accepted{"<u@xn--bcher-kva.example>", kPlain, PathKind::Mailbox, "u", "xn--bcher-kva.example", 0},
        // '`' '$' '|' '{' '}' are atext: data, never shell syntax.
        Accepted{"<`id`@x.test>", kPlain, PathKind::Mailbox, "`id`", "x.test", 0},
        Accepted{"<a|b{c}$d~e@x.test>", kPlain, PathKind::Mailbox, "a|b{c}$d~e", "x.test", 0},
        Accepted{"<!#$%&'*+-/=?^_`{|}~@x.test>", kPlain, PathKind::Mailbox, "!#$%&'*+-/=?^_`{|}~", "x.test", 0},
        Accepted{"<\"a b\"@x.test>", kPlain, PathKind::Mailbox, "a b", "x.test", 0},
        Accepted{"<\"a@b\"@x.test>", kPlain, PathKind::Mailbox, "a@b", "x.test", 0},
        Accepted{"<\";sleep 5;\"@x.test>", kPlain, PathKind::Mailbox, ";sleep 5;", "x.test", 0},
        Accepted{"<\"a\\\"b\\\\c\"@x.test>", kPlain, PathKind::Mailbox, "a\"b\\c", "x.test", 0},
        Accepted{"<\"abc\"@x.test>", kPlain, PathKind::Mailbox, "abc", "x.test", 0},
        Accepted{"<\"\\a\"@x.test>", kPlain, PathKind::Mailbox, "a", "x.test", 0},
        Accepted{"<\"a..b\"@x.test>", kPlain, PathKind::Mailbox, "a..b", "x.test", 0},
        Accepted{"<\"a>b\"@x.test> X", kPlain, PathKind::Mailbox, "a>b", "x.test", 14},
        Accepted{"<@a.test,@b.test:user@c.test>", kPlain, PathKind::Mailbox, "user", "c.test", 0, true},
        Accepted{"<@a.test:user@c.test>", kPlain, PathKind::Mailbox, "user", "c.test", 0, true},
        // A UTF-8 route is validated and dropped: the ASCII mailbox needs no SMTPUTF8.
        Accepted{"<@bücher.test:user@c.test>", kUtf8, PathKind::Mailbox, "user", "c.test", 0, true, false},
        Accepted{"<user@[192.0.2.1]>", kPlain, PathKind::Mailbox, "user", "[192.0.2.1]", 0},
        Accepted{"<user@[0.0.0.0]>", kPlain, PathKind::Mailbox, "user", "[0.0.0.0]", 0},
        Accepted{"<user@[255.255.255.255]>", kPlain, PathKind::Mailbox, "user", "[255.255.255.255]", 0},
        Accepted{"<user@[IPv6:2001:db8::1]>", kPlain, PathKind::Mailbox, "user", "[IPv6:2001:db8::1]", 0},
        Accepted{"<user@[ipv6:::1]>", kPlain, PathKind::Mailbox, "user", "[ipv6:::1]", 0},
        Accepted{"<u@[IPv6:1:2:3:4:5:6:7:8]>", kPlain, PathKind::Mailbox, "u", "[IPv6:1:2:3:4:5:6:7:8]", 0},
        Accepted{"<u@[IPv6:::ffff:192.0.2.1]>", kPlain, PathKind::Mailbox, "u", "[IPv6:::ffff:192.0.2.1]", 0},
        Accepted{"<user@example.com> SIZE=10", kPlain, PathKind::Mailbox, "user", "example.com", 18},
        Accepted{"<" + kLocal64 + "@x.test>", kPlain, PathKind::Mailbox, kLocal64, "x.test", 0},
        Accepted{"<u@" + kLabel63 + ".test>", kPlain, PathKind::Mailbox, "u", kLabel63 + ".test", 0},
        Accepted{"<" + kLocal64 + "@" + kDomain189 + ">", kPlain, PathKind::Mailbox, kLocal64, kDomain189, 0},
        // RFC 6531 examples (UTF-8 in local part, domain labels and quotes).
        Accepted{"<δοκιμή@παράδειγμα.δοκιμή>", kUtf8, PathKind::Mailbox, "δοκιμή", "παράδειγμα.δοκιμή", 0, false,
                 true},
        Accepted{"<用户@例子.广告>", kAll, PathKind::Mailbox, "用户", "例子.广告", 0, false, true},
        Accepted{"<\"ü x\"@x.test>", kUtf8, PathKind::Mailbox, "ü x", "x.test", 0, false, true},
        Accepted{"<u@bücher.example>", kUtf8, PathKind::Mailbox, "u", "bücher.example", 0, false, true},
        Accepted{"<\xF0\x9F\x98\x80@x.test>", kUtf8, PathKind::Mailbox, "\xF0\x9F\x98\x80", "x.test", 0, false, true},
        Accepted{"<plain@x.test>", kUtf8, PathKind::Mailbox, "plain", "x.test", 0}));

// ------------------------------------------------------------- refused paths

struct Refused {
  std::string input;
  PathOptions options;
  AddressErrorKind error;
};

void PrintTo(const Refused& c, std::ostream* os) { *os << volley::printable(c.input); }

class PathRefused : public ::testing::TestWithParam<Refused> {};

TEST_P(PathRefused, Fails) {
  const Refused& c = GetParam();
  const PathResult r = parse_path(c.input, c.options);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error.kind, c.error);
  EXPECT_FALSE(r.error.detail.empty());
}

// Error details are sent to the client: never any of its bytes.
TEST_P(PathRefused, DetailIsFixedText) {
  const PathResult r = parse_path(GetParam().input, GetParam().options);
  for (char c : r.error.detail) EXPECT_TRUE(c >= 0x20 && c < 0x7f);
  EXPECT_EQ(r.error.detail.find("sleep"), std::string::npos);
}

constexpr auto S = AddressErrorKind::Syntax;
constexpr auto L = AddressErrorKind::TooLong;
constexpr auto U = AddressErrorKind::Utf8NotAllowed;

INSTANTIATE_TEST_SUITE_P(
    Table, PathRefused,
    ::testing::Values(
        Refused{"", kAll, S}, Refused{"user@example.com", kAll, S}, Refused{"<user@example.com", kAll, S},
        Refused{"user@example.com>", kAll, S}, Refused{" <user@example.com>", kAll, S},
        Refused{"< user@example.com>", kAll, S}, Refused{"<user@example.com >", kAll, S},
        Refused{"<user @example.com>", kAll, S}, Refused{"<>", kPostmaster, S}, Refused{"<Postmaster>", kNull, S},
        Refused{"<\"Postmaster\">", kPostmaster, S}, Refused{"<@a.test:Postmaster>", kPostmaster, S},
        Refused{"<Postmaster >", kPostmaster, S}, Refused{"<user>", kAll, S},
        // Shell and structure metacharacters are not atext (CVE-2020-7247 class).
        Refused{"<;sleep 5;>", kAll, S}, Refused{"<;sleep 5;@x.test>", kAll, S}, Refused{"<$(id)@x.test>", kAll, S},
        Refused{"<a;b@x.test>", kAll, S}, Refused{"<a(b)@x.test>", kAll, S}, Refused{"<a<b@x.test>", kAll, S},
        Refused{"<a>b@x.test>", kAll, S}, Refused{"<a,b@x.test>", kAll, S}, Refused{"<a:b@x.test>", kAll, S},
        Refused{"<a[b]@x.test>", kAll, S}, Refused{"<a\\b@x.test>", kAll, S}, Refused{"<a\"b@x.test>", kAll, S},
        Refused{"<a@b@x.test>", kAll, S}, Refused{"<a b@x.test>", kAll, S},
        // Dots.
        Refused{"<.user@x.test>", kAll, S}, Refused{"<user.@x.test>", kAll, S}, Refused{"<us..er@x.test>", kAll, S},
        Refused{"<@x.test>", kAll, S}, Refused{"<user@>", kAll, S}, Refused{"<user@x..test>", kAll, S},
        Refused{"<user@x.test.>", kAll, S}, Refused{"<user@.x.test>", kAll, S},
        // Labels.
        Refused{"<user@-x.test>", kAll, S}, Refused{"<user@x-.test>", kAll, S}, Refused{"<user@x.-test>", kAll, S},
        Refused{"<user@x_y.test>", kAll, S}, Refused{"<user@x!.test>", kAll, S},
        Refused{concat("<u@", repeat('b', 64), ".test>"), kAll, S},
        // Control characters and NUL, anywhere.
        Refused{"<us\x01" "er@x.test>", kAll, S}, Refused{std::string("<us\0er@x.test>", 14), kAll, S},
        Refused{std::string("<user@x.te\0st>", 14), kAll, S}, Refused{"<us\x7f" "er@x.test>", kAll, S},
        Refused{std::string("<\"a\0b\"@x.test>", 14), kAll, S}, Refused{"<\"a\tb\"@x.test>", kAll, S},
        Refused{"<\"a\rb\"@x.test>", kAll, S}, Refused{"<\"a\\\x01\"@x.test>", kAll, S},
        Refused{"<user@x.test\r\n>", kAll, S},
        // Quoted strings.
        Refused{"<\"\"@x.test>", kAll, S}, Refused{"<\"abc@x.test>", kAll, S}, Refused{"<\"abc\"def@x.test>", kAll, S},
        Refused{"<a\"bc\"@x.test>", kAll, S}, Refused{"<\"a\"\"b\"@x.test>", kAll, S},
        // Address literals.
        Refused{"<u@[192.0.2.256]>", kAll, S}, Refused{"<u@[192.0.2]>", kAll, S},
        Refused{"<u@[192.0.2.1.5]>", kAll, S}, Refused{"<u@[01.2.3.4]>", kAll, S},
        Refused{"<u@[1.2.3.4 ]>", kAll, S}, Refused{"<u@[1.2.3.]>", kAll, S}, Refused{"<u@[1..2.3]>", kAll, S},
        Refused{"<u@[1234.2.3.4]>", kAll, S}, Refused{"<u@[]>", kAll, S}, Refused{"<u@[192.0.2.1>", kAll, S},
        Refused{"<u@[IPv6:2001:db8::g]>", kAll, S}, Refused{"<u@[IPv6:1::2::3]>", kAll, S},
        Refused{"<u@[IPv6:]>", kAll, S}, Refused{"<u@[IPv6:1:2:3:4:5:6:7:8:9]>", kAll, S},
        Refused{"<u@[IPv6:fe80::1%eth0]>", kAll, S}, Refused{"<u@[2001:db8::1]>", kAll, S},
        Refused{"<u@[tag:content]>", kAll, S}, Refused{"<u@[192.0.2.1].test>", kAll, S},
        Refused{"<u@x.[192.0.2.1]>", kAll, S},
        // Source routes.
        Refused{"<@a.test,user@c.test>", kAll, S}, Refused{"<@:user@c.test>", kAll, S},
        Refused{"<@a.test:@b.test:u@c.test>", kAll, S}, Refused{"<@[192.0.2.1]:u@c.test>", kAll, S},
        Refused{"<@a.test,:u@c.test>", kAll, S}, Refused{"<@a..test:u@c.test>", kAll, S},
        Refused{"<@bücher.test:u@c.test>", kNull, U},
        // UTF-8 without SMTPUTF8, and malformed UTF-8 with it.
        Refused{"<ü@x.test>", kNull, U}, Refused{"<u@bücher.example>", kPostmaster, U},
        Refused{"<\"ü\"@x.test>", kPlain, U}, Refused{"<\xFF@x.test>", kPlain, U},
        Refused{"<\xC0\xAF@x.test>", kUtf8, S}, Refused{"<\xE0\x80\xAF@x.test>", kUtf8, S},
        Refused{"<\xED\xA0\x80@x.test>", kUtf8, S}, Refused{"<\xF4\x90\x80\x80@x.test>", kUtf8, S},
        Refused{"<\xC3@x.test>", kUtf8, S}, Refused{"<a\xC3>", kUtf8, S}, Refused{"<\xFF@x.test>", kUtf8, S},
        Refused{"<\x80@x.test>", kUtf8, S}, Refused{"<\xC2\x85@x.test>", kUtf8, S},
        Refused{"<u@[192.0.2.\xC3\xA9]>", kUtf8, S}, Refused{"<\"\\\xC3\xBC\"@x.test>", kUtf8, S},
        // RFC 5321 4.5.3.1 lengths.
        Refused{"<" + repeat('a', 65) + "@x.test>", kAll, L},
        Refused{"<\"" + repeat('a', 63) + "\"@x.test>", kAll, L},
        Refused{"<" + kLocal64 + "@" + kDomain189 + "a>", kAll, L},
        Refused{"<@a.test:" + kLocal64 + "@" + kDomain189 + ">", kAll, L},
        Refused{"<u@" + kLabel63 + "." + kLabel63 + "." + kLabel63 + "." + kLabel63 + ">", kAll, L}));

// ------------------------------------------------------------------- to_string

struct Canonical {
  Mailbox mailbox;
  std::string text;
  std::string key;
};

void PrintTo(const Canonical& c, std::ostream* os) { *os << volley::printable(c.text); }

class MailboxText : public ::testing::TestWithParam<Canonical> {};

TEST_P(MailboxText, ToStringAndLookupKey) {
  EXPECT_EQ(GetParam().mailbox.to_string(), GetParam().text);
  EXPECT_EQ(GetParam().mailbox.lookup_key(), GetParam().key);
}

INSTANTIATE_TEST_SUITE_P(
    Table, MailboxText,
    ::testing::Values(Canonical{{"user", "Example.COM"}, "user@Example.COM", "user@example.com"},
                      Canonical{{"First.Last", "x.test"}, "First.Last@x.test", "first.last@x.test"},
                      Canonical{{"a b", "x"}, "\"a b\"@x", "\"a b\"@x"},
                      Canonical{{"a\"b\\c", "x"}, "\"a\\\"b\\\\c\"@x", "\"a\\\"b\\\\c\"@x"},
                      Canonical{{"a..b", "x"}, "\"a..b\"@x", "\"a..b\"@x"},
                      Canonical{{".a", "x"}, "\".a\"@x", "\".a\"@x"},
                      Canonical{{"a.", "x"}, "\"a.\"@x", "\"a.\"@x"},
                      Canonical{{"A@B", "X"}, "\"A@B\"@X", "\"a@b\"@x"},
                      Canonical{{"u", "[IPv6:2001:DB8::1]"}, "u@[IPv6:2001:DB8::1]", "u@[ipv6:2001:db8::1]"},
                      Canonical{{"Ü", "Bücher.example"}, "Ü@Bücher.example", "Ü@bücher.example"},
                      Canonical{{"Postmaster", ""}, "Postmaster", "postmaster"}));

// ----------------------------------------------------------- parse_mailbox

struct BareMailbox {
  std::string input;
  bool allow_utf8;
  bool ok;
  AddressErrorKind error = AddressErrorKind::Syntax;
};

void PrintTo(const BareMailbox& c, std::ostream* os) { *os << volley::printable(c.input); }

class ParseMailbox : public ::testing::TestWithParam<BareMailbox> {};

TEST_P(ParseMailbox, Table) {
  const BareMailbox& c = GetParam();
  const PathResult r = parse_mailbox(c.input, c.allow_utf8);
  EXPECT_EQ(r.ok, c.ok) << r.error.detail;
  if (r.ok) {
    EXPECT_EQ(r.value.path.kind, PathKind::Mailbox);
    EXPECT_EQ(r.value.path.mailbox.to_string(), c.input);
  } else {
    EXPECT_EQ(r.error.kind, c.error);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ParseMailbox,
                         ::testing::Values(BareMailbox{"user@example.com", false, true},
                                           BareMailbox{"\"a b\"@example.com", false, true},
                                           BareMailbox{"u@[192.0.2.1]", false, true},
                                           BareMailbox{"ü@x.test", true, true},
                                           BareMailbox{"ü@x.test", false, false, U},
                                           BareMailbox{"<user@example.com>", true, false},
                                           BareMailbox{"user@example.com extra", true, false},
                                           BareMailbox{"user@example.com>", true, false},
                                           BareMailbox{"user", true, false},
                                           BareMailbox{"", true, false},
                                           BareMailbox{"@a.test:u@b.test", true, false},
                                           BareMailbox{"user@example.com.", true, false},
                                           BareMailbox{repeat('a', 65) + "@x.test", true, false, L},
                                           BareMailbox{kLocal64 + "@" + kDomain189, true, true},
                                           BareMailbox{kLocal64 + "@" + kDomain189 + "a", true, false, L}));

// ----------------------------------------------------------- is_valid_domain

struct DomainCase {
  std::string domain;
  bool allow_utf8;
  bool valid;
};

void PrintTo(const DomainCase& c, std::ostream* os) { *os << volley::printable(c.domain); }

class ValidDomain : public ::testing::TestWithParam<DomainCase> {};

TEST_P(ValidDomain, Table) {
  EXPECT_EQ(is_valid_domain(GetParam().domain, GetParam().allow_utf8), GetParam().valid);
}

const std::string kDomain255 = kLabel63 + "." + kLabel63 + "." + kLabel63 + "." + repeat('d', 63);

INSTANTIATE_TEST_SUITE_P(Table, ValidDomain,
                         ::testing::Values(DomainCase{"example.com", false, true}, DomainCase{"localhost", false, true},
                                           DomainCase{"a-b.c", false, true}, DomainCase{kDomain255, false, true},
                                           DomainCase{kDomain255 + "e", false, false},
                                           DomainCase{"example.com.", false, false}, DomainCase{"", false, false},
                                           DomainCase{".com", false, false}, DomainCase{"a..b", false, false},
                                           DomainCase{"-a.b", false, false}, DomainCase{"a-.b", false, false},
                                           DomainCase{"[192.0.2.1]", false, false},
                                           DomainCase{"exa mple.com", false, false},
                                           DomainCase{"bücher.example", false, false},
                                           DomainCase{"bücher.example", true, true},
                                           DomainCase{"b\xC3.example", true, false}));

// -------------------------------------------------------------- is_valid_utf8

struct Utf8Case {
  std::string text;
  bool valid;
};

void PrintTo(const Utf8Case& c, std::ostream* os) { *os << volley::printable(c.text); }

class ValidUtf8 : public ::testing::TestWithParam<Utf8Case> {};

TEST_P(ValidUtf8, Table) { EXPECT_EQ(is_valid_utf8(GetParam().text), GetParam().valid); }

INSTANTIATE_TEST_SUITE_P(Table, ValidUtf8,
                         ::testing::Values(Utf8Case{"", true}, Utf8Case{"ascii", true}, Utf8Case{"\xC2\x80", true},
                                           Utf8Case{"\xDF\xBF", true}, Utf8Case{"\xE0\xA0\x80", true},
                                           Utf8Case{"\xEF\xBF\xBF", true}, Utf8Case{"\xF0\x90\x80\x80", true},
                                           Utf8Case{"\xF4\x8F\xBF\xBF", true}, Utf8Case{"\xC0\x80", false},
                                           Utf8Case{"\xC1\xBF", false}, Utf8Case{"\xE0\x9F\xBF", false},
                                           Utf8Case{"\xED\xA0\x80", false}, Utf8Case{"\xED\xBF\xBF", false},
                                           Utf8Case{"\xF0\x8F\xBF\xBF", false}, Utf8Case{"\xF4\x90\x80\x80", false},
                                           Utf8Case{"\xF5\x80\x80\x80", false}, Utf8Case{"\x80", false},
                                           Utf8Case{"a\xC3", false}, Utf8Case{"\xE2\x82", false},
                                           Utf8Case{"\xFE", false}));

}  // namespace
}  // namespace volley::smtp

namespace volley::smtp {
namespace {

// 1f: one rule for the HELO/EHLO argument (RFC 5321 4.1.1.1, RFC 6531 U-labels).
TEST(HeloArgument, Table) {
  struct Case {
    std::string arg;
    bool valid;
  };
  const Case cases[] = {
      {"client.example.com", true},
      {"localhost", true},
      {"h\xc3\xa9llo.test", true},          // U-label as UTF-8
      {"my_pc.corp.test", true},              // Windows names carry '_'
      {"[127.0.0.1]", true},
      {"[IPv6:2001:db8::1]", true},
      {"192.0.2.1", true},                    // digits are labels too
      {"a<b>", false},
      {"[999.1.1.1]", false},
      {"[127.0.0.1", false},
      {"[127.0.0.1]x", false},
      {"[IPv6:zz::1]", false},
      {"[tag:content]", false},
      {"-lead.test", false},
      {"trail-.test", false},
      {"dot.test.", false},
      {"a..b", false},
      {"two words", false},
      {"", false},
      {"h\xc3(llo.test", false},              // malformed UTF-8
      {"a\xc2\x85" "b.test", false},             // C1 control
      {std::string(64, 'a') + ".test", false},  // label > 63
      {std::string(63, 'a') + ".test", true},
      {std::string(250, 'a').insert(60, ".").insert(120, ".").insert(180, ".") , false},  // > 255 octets
  };
  for (const auto& c : cases) EXPECT_EQ(is_valid_helo_argument(c.arg), c.valid) << c.arg;
}

}  // namespace
}  // namespace volley::smtp
