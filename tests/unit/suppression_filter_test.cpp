// The suppression list's address filter: never a false negative (a
// suppressed address is always looked up), few false positives, and the
// list's answers stay exact through adds, removals, growth past the
// filter's size and changes made by another connection.
#include <gtest/gtest.h>

#include <string>

#include "platform/address_filter.hpp"
#include "platform/platform_db.hpp"
#include "platform/suppression_list.hpp"
#include "temp_dir.hpp"

using namespace volley;
using namespace volley::platform;

namespace {

std::string address(int i) { return "user" + std::to_string(i) + "@example.test"; }

TEST(AddressFilter, NoFalseNegativesAndFewFalsePositives) {
  AddressFilter f(100'000);
  for (int i = 0; i < 100'000; ++i) f.insert(address(i));
  for (int i = 0; i < 100'000; ++i) ASSERT_TRUE(f.may_contain(address(i))) << address(i);
  int false_positives = 0;
  for (int i = 100'000; i < 200'000; ++i) false_positives += f.may_contain(address(i));
  EXPECT_LT(false_positives, 3'000) << "sized for about 1%";
  EXPECT_FALSE(f.full());
  f.insert("one-more@example.test");
  EXPECT_TRUE(f.full()) << "holds more than it was sized for: time to rebuild";
}

TEST(AddressFilter, EmptyContainsNothing) {
  AddressFilter f;
  EXPECT_FALSE(f.may_contain("a@b.test"));
  EXPECT_FALSE(f.may_contain(""));
}

struct SuppressionFilter : ::testing::Test {
  test::TempDir tmp{"suppression-filter"};
  std::string path = tmp.path + "/platform.db";
  std::unique_ptr<PlatformDb> db = open();
  std::unique_ptr<PlatformDb> open() {
    auto r = PlatformDb::open(path);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? std::move(*r) : nullptr;
  }
  static bool suppressed(SuppressionList& list, const std::string& domain, const std::string& addr) {
    auto r = list.find(domain, addr);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r && r->has_value();
  }
};

TEST_F(SuppressionFilter, AnswersStayExactThroughAddsRemovalsAndGrowth) {
  {
    SuppressionList before(*db);  // entries that exist when the filter is first built
    ASSERT_TRUE(before.add({"example.com", "Old@Remote.test", SuppressionReason::Manual, 1, ""}));
  }
  SuppressionList list(*db, std::chrono::hours(1));
  EXPECT_TRUE(suppressed(list, "example.com", "old@remote.test")) << "read into the filter at first use";
  EXPECT_FALSE(suppressed(list, "example.com", "new@remote.test"));
  ASSERT_TRUE(list.add({"example.com", "New@Remote.test", SuppressionReason::HardBounce, 2, ""}));
  EXPECT_TRUE(suppressed(list, "example.com", "NEW@remote.test")) << "an add is seen at once";
  EXPECT_FALSE(suppressed(list, "other.example", "new@remote.test")) << "per sender domain, as before";
  ASSERT_TRUE(list.remove(std::nullopt, "new@remote.test"));
  EXPECT_FALSE(suppressed(list, "example.com", "new@remote.test")) << "removed: the filter's maybe goes to SQLite";
  // Far past the filter's first size (1,024): rebuilt, nothing forgotten.
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(list.add({"", address(i), SuppressionReason::Manual, 3, ""}));
  for (int i = 0; i < 3000; i += 7) EXPECT_TRUE(suppressed(list, "any.example", address(i))) << address(i);
  EXPECT_FALSE(suppressed(list, "any.example", address(3001)));
}

TEST_F(SuppressionFilter, AnotherConnectionsAddIsSeenAfterTheRecheck) {
  SuppressionList list(*db, std::chrono::milliseconds(0));  // ask SQLite every time
  EXPECT_FALSE(suppressed(list, "example.com", "bob@remote.test"));  // the filter is built now
  auto other_db = open();
  SuppressionList other(*other_db);
  ASSERT_TRUE(other.add({"example.com", "bob@remote.test", SuppressionReason::Complaint, 5, ""}));
  EXPECT_TRUE(suppressed(list, "example.com", "bob@remote.test"))
      << "data_version changed: the filter was rebuilt from the table";
}

}  // namespace
