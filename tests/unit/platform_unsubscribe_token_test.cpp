#include "platform/unsubscribe_token.hpp"

#include <gtest/gtest.h>

#include <string>

#include "platform/token_encoding.hpp"

namespace volley::platform {
namespace {

const std::string kSecret(32, 'k');
const UnsubscribeFields kFields{"alice.smith@example.com", "example.com", "0123456789ABCDEFGHIJ"};

TEST(PlatformUnsubscribeToken, RoundTripsAndHidesTheAddress) {
  auto token = make_unsubscribe_token(kSecret, kFields);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->size(), 114u);  // the documented typical length
  EXPECT_EQ(token->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_EQ(token->find("alice"), std::string::npos);
  auto opened = open_unsubscribe_token(kSecret, token.value());
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened.value(), kFields);
}

TEST(PlatformUnsubscribeToken, EmptyCampaignAndLongestFields) {
  for (const UnsubscribeFields& f :
       {UnsubscribeFields{"a@b.example", "b.example", ""},
        UnsubscribeFields{std::string(254, 'a'), std::string(253, 'd'), std::string(64, 'c')}}) {
    auto token = make_unsubscribe_token(kSecret, f);
    ASSERT_TRUE(token.ok());
    EXPECT_LE(token->size(), kMaxUnsubscribeTokenChars);
    auto opened = open_unsubscribe_token(kSecret, token.value());
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(opened.value(), f);
  }
}

TEST(PlatformUnsubscribeToken, TwoTokensForOneRecipientDiffer) {
  EXPECT_NE(make_unsubscribe_token(kSecret, kFields).value(), make_unsubscribe_token(kSecret, kFields).value());
}

TEST(PlatformUnsubscribeToken, AnyChangedByteIsRefused) {
  const std::string raw = base64url_decode(make_unsubscribe_token(kSecret, kFields).value()).value();
  for (size_t i = 0; i < raw.size(); ++i)
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}}) {
      std::string bad = raw;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      EXPECT_FALSE(open_unsubscribe_token(kSecret, base64url_encode(bad)).ok()) << "byte " << i;
    }
  EXPECT_FALSE(open_unsubscribe_token(kSecret, base64url_encode(raw.substr(0, raw.size() - 1))).ok());
  EXPECT_FALSE(open_unsubscribe_token(kSecret, base64url_encode(raw + "x")).ok());
}

TEST(PlatformUnsubscribeToken, RefusesOtherSecretsAndGarbage) {
  const std::string token = make_unsubscribe_token(kSecret, kFields).value();
  EXPECT_FALSE(open_unsubscribe_token(std::string(32, 'j'), token).ok());
  EXPECT_FALSE(open_unsubscribe_token(kSecret, "").ok());
  EXPECT_FALSE(open_unsubscribe_token(kSecret, "not/base64url").ok());
  EXPECT_FALSE(open_unsubscribe_token(kSecret, token + "=").ok());
  EXPECT_FALSE(open_unsubscribe_token(kSecret, std::string(900, 'A')).ok());
  EXPECT_FALSE(open_unsubscribe_token("short", token).ok());
  EXPECT_FALSE(make_unsubscribe_token("short", kFields).ok());
  EXPECT_FALSE(make_unsubscribe_token(kSecret, UnsubscribeFields{"", "d", ""}).ok());
  EXPECT_FALSE(make_unsubscribe_token(kSecret, UnsubscribeFields{"a@b", "d", std::string(65, 'c')}).ok());
}

TEST(PlatformTokenEncoding, Base32RoundTripIgnoringCase) {
  for (std::string s : {std::string(), std::string("f"), std::string("fo"), std::string("foobar"),
                        std::string("\x00\xff\x10", 3)}) {
    const std::string enc = base32_encode(s);
    EXPECT_EQ(base32_decode(enc).value(), s);
    std::string upper = enc;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(base32_decode(upper).value(), s);
  }
  EXPECT_EQ(base32_encode("foobar"), "mzxw6ytboi");  // RFC 4648 test vector, lower case, unpadded
  EXPECT_FALSE(base32_decode("mzxw6ytboi=").has_value());
  EXPECT_FALSE(base32_decode("mzxw6ytboj").has_value());  // non-zero trailing bits: a second spelling
  EXPECT_FALSE(base32_decode("m1").has_value());
}

TEST(PlatformTokenEncoding, Base64UrlIsStrict) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8").value(), "\xfb\xff");
  EXPECT_FALSE(base64url_decode("-_9").has_value());  // non-zero trailing bits
  EXPECT_FALSE(base64url_decode("-_8=").has_value());
  EXPECT_FALSE(base64url_decode("+/8").has_value());
  EXPECT_FALSE(base64url_decode("-_ 8").has_value());
}

}  // namespace
}  // namespace volley::platform
