// DKIM parsers: tag-list (RFC 6376 3.2), DKIM-Signature (3.5) and key record
// (3.6.1), good and malformed, table-driven.
#include <gtest/gtest.h>

#include <string>

#include "dkim/key_record.hpp"
#include "dkim/limits.hpp"
#include "dkim/signature.hpp"
#include "dkim/tag_list.hpp"

namespace volley::dkim {
namespace {

struct TagCase {
  std::string name;
  std::string input;
  bool ok;
  std::vector<std::pair<std::string, std::string>> tags;  // expected when ok
};
void PrintTo(const TagCase& c, std::ostream* os) { *os << c.name; }

class TagLists : public ::testing::TestWithParam<TagCase> {};

TEST_P(TagLists, Parse) {
  const auto& c = GetParam();
  auto r = parse_tag_list(c.input);
  ASSERT_EQ(r.ok(), c.ok) << (r.ok() ? "parsed" : r.error().message);
  if (!c.ok) {
    EXPECT_EQ(r.error().code, ErrorCode::Invalid);
    EXPECT_FALSE(r.error().message.empty());
    return;
  }
  ASSERT_EQ(r->tags.size(), c.tags.size());
  for (size_t i = 0; i < c.tags.size(); ++i) {
    EXPECT_EQ(r->tags[i].name, c.tags[i].first);
    EXPECT_EQ(r->tags[i].value, c.tags[i].second);
  }
}

const std::string kLongValue(kMaxTagValueBytes + 1, 'a');
std::string many_tags(size_t n) {
  std::string s;
  // Appended piecewise: GCC 12 -O3 reports a false -Wrestrict on "t" + string.
  for (size_t i = 0; i < n; ++i) {
    s += 't';
    s += std::to_string(i);
    s += "=x;";
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Dkim, TagLists,
    ::testing::Values(
        TagCase{"Simple", "v=1; a=rsa-sha256", true, {{"v", "1"}, {"a", "rsa-sha256"}}},
        TagCase{"TrailingSemicolon", "v=1;a=b; ", true, {{"v", "1"}, {"a", "b"}}},
        TagCase{"EmptyValue", "p=", true, {{"p", ""}}},
        TagCase{"FoldedValueKeepsInnerFws", "b=abc\r\n def ;", true, {{"b", "abc\r\n def"}}},
        TagCase{"FwsAroundEquals", " h = from : to ", true, {{"h", "from : to"}}},
        TagCase{"NameWithDigitUnderscore", "x_1=y", true, {{"x_1", "y"}}},
        TagCase{"Empty", "", true, {}},
        TagCase{"DoubleSemicolon", "a=1;;b=2", false, {}},
        TagCase{"NoEquals", "a=1; b", false, {}},
        TagCase{"DuplicateTag", "a=1; a=2", false, {}},
        TagCase{"NameStartsWithDigit", "1a=1", false, {}},
        TagCase{"EmptyName", "=1", false, {}},
        TagCase{"ControlCharInValue", std::string("a=x\x01y"), false, {}},
        TagCase{"EightBitInValue", "a=caf\xc3\xa9", false, {}},
        TagCase{"BareLf", "a=x\ny", false, {}},
        TagCase{"CrlfNotFollowedByWsp", "a=x\r\ny=1", false, {}},
        TagCase{"ValueTooLong", "a=" + kLongValue, false, {}},
        TagCase{"TooManyTags", many_tags(kMaxTags + 1), false, {}},
        TagCase{"MaxTags", many_tags(2), true, {{"t0", "x"}, {"t1", "x"}}}));

TEST(DkimTagList, StripFws) { EXPECT_EQ(strip_fws("ab c\r\n\tde "), "abcde"); }

// --- DKIM-Signature ---------------------------------------------------------

const std::string kBh = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";

std::string field(const std::string& tags) { return "DKIM-Signature: " + tags + "\r\n"; }
std::string good_tags() { return "v=1; a=ed25519-sha256; d=Example.COM; s=sel; h=From:To; bh=" + kBh + "; b=AAAA"; }

struct SigCase {
  std::string name;
  std::string field;
  bool ok;
  std::string reason_part;  // expected in the error when !ok
};
void PrintTo(const SigCase& c, std::ostream* os) { *os << c.name; }
class Signatures : public ::testing::TestWithParam<SigCase> {};

TEST_P(Signatures, Parse) {
  const auto& c = GetParam();
  auto r = parse_signature(c.field);
  ASSERT_EQ(r.ok(), c.ok) << (r.ok() ? "parsed" : r.error().message);
  if (!c.ok) {
    EXPECT_NE(r.error().message.find(c.reason_part), std::string::npos) << r.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Dkim, Signatures,
    ::testing::Values(
        SigCase{"Good", field(good_tags()), true, ""},
        SigCase{"Rsa", field("v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=" + kBh + "; b=AAAA"), true, ""},
        SigCase{"NoVersion", field("a=rsa-sha256; d=x.org; s=s; h=from; bh=" + kBh + "; b=AAAA"), false, "v="},
        SigCase{"Version2", field("v=2; a=rsa-sha256; d=x.org; s=s; h=from; bh=" + kBh + "; b=AAAA"), false, "version"},
        SigCase{"RsaSha1", field("v=1; a=rsa-sha1; d=x.org; s=s; h=from; bh=" + kBh + "; b=AAAA"), false, "8301"},
        SigCase{"UnknownAlg", field("v=1; a=dsa-sha256; d=x.org; s=s; h=from; bh=" + kBh + "; b=AAAA"), false,
                "algorithm"},
        SigCase{"NoFromInH", field("v=1; a=rsa-sha256; d=x.org; s=s; h=to:subject; bh=" + kBh + "; b=AAAA"), false,
                "From"},
        SigCase{"EmptyHName", field("v=1; a=rsa-sha256; d=x.org; s=s; h=from::to; bh=" + kBh + "; b=AAAA"), false,
                "h="},
        SigCase{"NoDomain", field("v=1; a=rsa-sha256; s=s; h=from; bh=" + kBh + "; b=AAAA"), false, "d="},
        SigCase{"BadDomain", field("v=1; a=rsa-sha256; d=x..org; s=s; h=from; bh=" + kBh + "; b=AAAA"), false, "d="},
        SigCase{"NoSelector", field("v=1; a=rsa-sha256; d=x.org; h=from; bh=" + kBh + "; b=AAAA"), false, "s="},
        SigCase{"NoBodyHash", field("v=1; a=rsa-sha256; d=x.org; s=s; h=from; b=AAAA"), false, "bh="},
        SigCase{"ShortBodyHash", field("v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=AAAA; b=AAAA"), false, "bh="},
        SigCase{"NoB", field("v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=" + kBh), false, "b="},
        SigCase{"BadB", field("v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=" + kBh + "; b=A*AA"), false, "b="},
        SigCase{"BadCanon", field(good_tags() + "; c=loose/simple"), false, "canonicalization"},
        SigCase{"IdentityOutsideD", field(good_tags() + "; i=joe@other.com"), false, "i="},
        SigCase{"IdentityLookalike", field(good_tags() + "; i=@badexample.com"), false, "i="},
        SigCase{"IdentitySubdomain", field(good_tags() + "; i=joe@mail.example.com"), true, ""},
        SigCase{"BadLength", field(good_tags() + "; l=12x"), false, "l="},
        SigCase{"HugeLength", field(good_tags() + "; l=999999999999999999999999"), false, "l="},
        SigCase{"QueryNotDns", field(good_tags() + "; q=http/well-known"), false, "q="},
        SigCase{"ExpiresBeforeTimestamp", field(good_tags() + "; t=200; x=100"), false, "x="},
        SigCase{"Malformed", field("v=1; a"), false, "="}));

TEST(DkimSignature, FieldsAndDefaults) {
  auto r = parse_signature(field(good_tags() + "; l=42; t=1; x=2; c=relaxed"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->algorithm, Algorithm::Ed25519Sha256);
  EXPECT_EQ(r->domain, "example.com");
  EXPECT_EQ(r->selector, "sel");
  EXPECT_EQ(r->identity, "@example.com");
  EXPECT_EQ(r->header_canon, Canon::Relaxed);
  EXPECT_EQ(r->body_canon, Canon::Simple);  // "c=relaxed" means relaxed/simple
  EXPECT_EQ(r->signed_headers, (std::vector<std::string>{"from", "to"}));
  EXPECT_EQ(r->body_hash_b64, kBh);
  EXPECT_EQ(*r->body_length, 42u);
  EXPECT_EQ(*r->timestamp, 1);
  EXPECT_EQ(*r->expiration, 2);
  EXPECT_EQ(r->raw_field.substr(r->b_value_begin, r->b_value_end - r->b_value_begin), "AAAA");
}

TEST(DkimSignature, FoldedBAndHeaderListWithSpaces) {
  auto r = parse_signature("DKIM-Signature: v=1; a=rsa-sha256; d=x.org; s=s;\r\n h=from : to :\r\n subject; bh=" +
                           kBh + ";\r\n b=AAAA\r\n BBBB\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->signed_headers, (std::vector<std::string>{"from", "to", "subject"}));
  EXPECT_EQ(r->signature.size(), 6u);
  EXPECT_EQ(r->raw_field.substr(r->b_value_begin, r->b_value_end - r->b_value_begin), "AAAA\r\n BBBB");
}

TEST(DkimSignature, FindSignaturesKeepsBadOnesWithDomain) {
  std::string block = "From: a@x.org\r\n" + field(good_tags()) + field("v=1; d=bad.example; s=s1") +
                      "Subject: hi\r\n\r\n";
  auto found = find_signatures(block);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_TRUE(found[0].parsed.ok());
  EXPECT_EQ(found[0].domain, "example.com");
  EXPECT_FALSE(found[1].parsed.ok());
  EXPECT_EQ(found[1].domain, "bad.example");
  EXPECT_EQ(found[1].selector, "s1");
}

TEST(DkimSignature, FindSignaturesIsBounded) {
  std::string block;
  for (size_t i = 0; i < kMaxSignaturesPerMessage + 5; ++i) block += field(good_tags());
  EXPECT_EQ(find_signatures(block).size(), kMaxSignaturesPerMessage);
}

// --- Key record ---------------------------------------------------------------

struct KeyCase {
  std::string name;
  std::string txt;
  bool ok;
  KeyType type;
  bool revoked;
  bool testing;
  bool strict;
};
void PrintTo(const KeyCase& c, std::ostream* os) { *os << c.name; }
class KeyRecords : public ::testing::TestWithParam<KeyCase> {};

TEST_P(KeyRecords, Parse) {
  const auto& c = GetParam();
  auto r = parse_key_record(c.txt);
  ASSERT_EQ(r.ok(), c.ok) << (r.ok() ? "parsed" : r.error().message);
  if (!c.ok) return;
  EXPECT_EQ(r->type, c.type);
  EXPECT_EQ(r->public_key.empty(), c.revoked);
  EXPECT_EQ(r->testing, c.testing);
  EXPECT_EQ(r->strict_identity, c.strict);
}

INSTANTIATE_TEST_SUITE_P(
    Dkim, KeyRecords,
    ::testing::Values(
        KeyCase{"Ed25519", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", true,
                KeyType::Ed25519, false, false, false},
        KeyCase{"DefaultRsa", "p=AAAA", true, KeyType::Rsa, false, false, false},
        KeyCase{"Revoked", "v=DKIM1; p=", true, KeyType::Rsa, true, false, false},
        KeyCase{"Flags", "v=DKIM1; t=y:s; p=AAAA", true, KeyType::Rsa, false, true, true},
        KeyCase{"HashSha256", "h=sha1:sha256; p=AAAA", true, KeyType::Rsa, false, false, false},
        KeyCase{"ServiceEmail", "s=email; p=AAAA", true, KeyType::Rsa, false, false, false},
        KeyCase{"FoldedP", "p=AA\r\n AA", true, KeyType::Rsa, false, false, false},
        KeyCase{"NoP", "v=DKIM1; k=rsa", false, KeyType::Rsa, false, false, false},
        KeyCase{"BadVersion", "v=DKIM2; p=AAAA", false, KeyType::Rsa, false, false, false},
        KeyCase{"VersionNotFirst", "p=AAAA; v=DKIM1", false, KeyType::Rsa, false, false, false},
        KeyCase{"UnknownType", "k=dsa; p=AAAA", false, KeyType::Rsa, false, false, false},
        KeyCase{"HashSha1Only", "h=sha1; p=AAAA", false, KeyType::Rsa, false, false, false},
        KeyCase{"ServiceOther", "s=tlsrpt; p=AAAA", false, KeyType::Rsa, false, false, false},
        KeyCase{"BadBase64", "p=A!AA", false, KeyType::Rsa, false, false, false},
        KeyCase{"Garbage", "this is not a key", false, KeyType::Rsa, false, false, false}));

}  // namespace
}  // namespace volley::dkim
