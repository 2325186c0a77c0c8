#include "platform/verp.hpp"

#include <gtest/gtest.h>

#include <string>

#include "smtp/address.hpp"
#include "util/strings.hpp"

namespace volley::platform {
namespace {

const std::string kSecret(32, 's');

std::string local_of(const std::string& address) { return address.substr(0, address.rfind('@')); }

TEST(PlatformVerp, RoundTripAndShape) {
  auto a = bounce_address(kSecret, "0123456789ABCDEFGHIJ", 42, "bounce.example.com");
  ASSERT_TRUE(a.ok());
  const std::string local = local_of(a.value());
  EXPECT_TRUE(local.starts_with("bounces+0123456789ABCDEFGHIJ-42-")) << local;
  EXPECT_LE(local.size(), 64u);
  auto mb = smtp::parse_mailbox(a.value(), false);
  ASSERT_TRUE(mb.ok);
  EXPECT_EQ(mb.value.path.mailbox.local, local);  // a plain dot-atom: never quoted
  auto t = parse_bounce_address(kSecret, local);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t.value(), (BounceTarget{"0123456789ABCDEFGHIJ", 42}));
}

TEST(PlatformVerp, SurvivesCaseChanges) {
  const std::string local = local_of(bounce_address(kSecret, "abcDEF123", 0, "d.example").value());
  for (const std::string& variant : {to_lower(local), to_upper(local), local.substr(8)}) {
    auto t = parse_bounce_address(kSecret, variant);
    ASSERT_TRUE(t.ok()) << variant;
    EXPECT_EQ(t.value(), (BounceTarget{"ABCDEF123", 0}));
  }
}

TEST(PlatformVerp, LongestFitsInALocalPart) {
  auto a = bounce_address(kSecret, std::string(30, 'Z'), kMaxVerpRecipientIndex, "d.example");
  ASSERT_TRUE(a.ok());
  EXPECT_LE(local_of(a.value()).size(), 64u);
  EXPECT_EQ(parse_bounce_address(kSecret, local_of(a.value())).value().recipient_index, kMaxVerpRecipientIndex);
}

TEST(PlatformVerp, RefusesTamperingAndGarbage) {
  const std::string local = local_of(bounce_address(kSecret, "Q1", 3, "d.example").value());
  for (size_t i = 8; i < local.size(); ++i) {
    std::string bad = local;
    bad[i] = bad[i] == '2' ? '3' : '2';
    EXPECT_FALSE(parse_bounce_address(kSecret, bad).ok()) << bad;
  }
  EXPECT_FALSE(parse_bounce_address(std::string(32, 't'), local).ok());
  for (const char* garbage : {"", "bounces+", "bounces+a-1", "a--b", "-1-aaaaaaaaaaaaaaaa", "a-01-aaaaaaaaaaaaaaaa",
                              "a-x-aaaaaaaaaaaaaaaa", "a-1-aaaaaaaaaaaaaaa", "a.b-1-aaaaaaaaaaaaaaaa",
                              "a-12345678-aaaaaaaaaaaaaaaa"})
    EXPECT_FALSE(parse_bounce_address(kSecret, garbage).ok()) << garbage;
}

TEST(PlatformVerp, RefusesBadInputs) {
  EXPECT_FALSE(bounce_address("short", "A", 0, "d").ok());
  EXPECT_FALSE(bounce_address(kSecret, "", 0, "d").ok());
  EXPECT_FALSE(bounce_address(kSecret, std::string(31, 'A'), 0, "d").ok());
  EXPECT_FALSE(bounce_address(kSecret, "A-B", 0, "d").ok());
  EXPECT_FALSE(bounce_address(kSecret, "A", kMaxVerpRecipientIndex + 1, "d").ok());
  EXPECT_FALSE(bounce_address(kSecret, "A", 0, "").ok());
}

}  // namespace
}  // namespace volley::platform
