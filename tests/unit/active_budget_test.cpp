// ActiveBudget: the delivery engine's cap on messages and body bytes held in
// memory (delivery.max_active_messages / delivery.max_active_bytes).
#include "delivery/active_budget.hpp"

#include <gtest/gtest.h>

namespace volley::delivery {
namespace {

constexpr uint64_t kMB = 1 << 20;

TEST(ActiveBudget, BytesCapHoldsAcrossMessages) {
  ActiveBudget b(100, 64 * kMB);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.fits(19 * kMB)) << i;
    b.charge(19 * kMB);
  }
  EXPECT_EQ(b.bytes(), 57 * kMB);
  EXPECT_FALSE(b.fits(19 * kMB));  // 76 MB > 64 MB
  EXPECT_TRUE(b.fits(7 * kMB));    // exactly 64 MB
  EXPECT_TRUE(b.has_room());
  b.refund(19 * kMB);
  EXPECT_TRUE(b.fits(19 * kMB));
}

TEST(ActiveBudget, MessageCountCap) {
  ActiveBudget b(2, 64 * kMB);
  b.charge(1);
  b.charge(1);
  EXPECT_FALSE(b.has_room());
  EXPECT_FALSE(b.fits(1));
  b.refund(1);
  EXPECT_TRUE(b.has_room());
}

// No starvation: a message larger than the whole cap still goes when
// nothing else is held.
TEST(ActiveBudget, OversizedMessageAdmittedAlone) {
  ActiveBudget b(100, 64 * kMB);
  EXPECT_TRUE(b.fits(200 * kMB));
  b.charge(4096);
  EXPECT_FALSE(b.fits(200 * kMB));
  b.refund(4096);
  EXPECT_TRUE(b.fits(200 * kMB));
}

// Once parked, the large message blocks new admissions until the engine has
// drained enough for it: small messages cannot keep it out forever.
TEST(ActiveBudget, ParkedMessageGoesFirst) {
  ActiveBudget b(100, 64 * kMB);
  b.charge(40 * kMB);
  ASSERT_FALSE(b.fits(30 * kMB));
  b.park("big", 30 * kMB);
  EXPECT_FALSE(b.has_room());        // nothing new while it waits
  EXPECT_FALSE(b.unpark_if_fits());  // still 70 MB
  b.refund(40 * kMB);
  auto p = b.unpark_if_fits();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, "big");
  EXPECT_EQ(p->bytes, 30 * kMB);
  EXPECT_FALSE(b.parked());
  EXPECT_TRUE(b.has_room());
}

TEST(ActiveBudget, ForgetDropsOnlyThatParkedId) {
  ActiveBudget b(100, kMB);
  b.charge(kMB);
  b.park("a", 2 * kMB);
  b.forget("b");
  EXPECT_TRUE(b.parked());
  b.forget("a");
  EXPECT_FALSE(b.parked());
  EXPECT_TRUE(b.fits(0));
}

TEST(ActiveBudget, LoweredLimitsApplyToNextAdmission) {
  ActiveBudget b(100, 64 * kMB);
  b.charge(10 * kMB);
  b.set_limits(100, 8 * kMB);
  EXPECT_FALSE(b.has_room());
  EXPECT_FALSE(b.fits(1));
  b.refund(10 * kMB);
  EXPECT_TRUE(b.fits(1));
}

}  // namespace
}  // namespace volley::delivery
