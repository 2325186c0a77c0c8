// The MTA-STS policy cache: persisted across a reopen (a restart), expiry
// by max_age on made-up time, atomic writes (a failed write leaves the old
// policy and no temporary file), garbage files ignored, and domains that
// could escape the directory refused.
#include "mta_sts/cache.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "temp_dir.hpp"

namespace volley::mta_sts {
namespace {

CachedPolicy sample(const std::string& id, int64_t fetched, uint32_t max_age) {
  CachedPolicy c;
  c.policy.mode = Mode::Enforce;
  c.policy.mx = {"mx.example.com", "*.example.net"};
  c.policy.max_age = max_age;
  c.id = id;
  c.fetched_at = fetched;
  c.expires_at = fetched + max_age;
  return c;
}

TEST(MtaStsCache, SurvivesAReopenAndExpires) {
  test::TempDir d("stscache");
  const std::string dir = d.path + "/mta-sts";
  {
    auto cache = PolicyCache::open(dir);
    ASSERT_TRUE(cache) << cache.error().message;
    ASSERT_TRUE((*cache)->put("Example.COM", sample("id1", 1000, 86400)));
  }
  auto cache = PolicyCache::open(dir);
  ASSERT_TRUE(cache);
  auto p = (*cache)->get("example.com", 1000 + 86399);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, "id1");
  EXPECT_EQ(p->policy.mode, Mode::Enforce);
  EXPECT_EQ(p->policy.mx, (std::vector<std::string>{"mx.example.com", "*.example.net"}));
  EXPECT_FALSE((*cache)->get("example.com", 1000 + 86400)) << "expired at max_age";
  EXPECT_FALSE((*cache)->get("other.example", 1000));
  EXPECT_EQ(std::filesystem::status(dir).permissions() & std::filesystem::perms::all, std::filesystem::perms::owner_all);
}

TEST(MtaStsCache, FailedWriteKeepsTheOldPolicyAndNoTemporaryFile) {
  test::TempDir d("stscache");
  const std::string dir = d.path + "/mta-sts";
  FaultyFileSystem faulty;
  auto cache = PolicyCache::open(dir, faulty);
  ASSERT_TRUE(cache);
  ASSERT_TRUE((*cache)->put("example.com", sample("old", 1000, 86400)));
  for (uint64_t nth = 1; nth <= 5; ++nth) {  // open, write, fsync, rename, fsync_dir
    faulty.fail_at(nth);
    EXPECT_FALSE((*cache)->put("example.com", sample("new", 2000, 86400))) << "operation " << nth;
    EXPECT_EQ((*cache)->get("example.com", 2000)->id, "old") << "operation " << nth;
    EXPECT_FALSE(std::filesystem::exists(dir + "/example.com.policy.tmp")) << "operation " << nth;
  }
  faulty.fail_at(0);
  auto reopened = PolicyCache::open(dir);
  ASSERT_TRUE(reopened);
  auto p = (*reopened)->get("example.com", 2000);
  ASSERT_TRUE(p);
  // A rename that failed reported failure; fsync_dir failing after the
  // rename may leave the new file on disk: either policy is a whole one.
  EXPECT_TRUE(p->id == "old" || p->id == "new") << p->id;
}

TEST(MtaStsCache, GarbageFilesAreIgnored) {
  test::TempDir d("stscache");
  const std::string dir = d.path + "/mta-sts";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/broken.example.policy") << "not a policy";
  std::ofstream(dir + "/half.example.policy") << "id: x\r\nfetched_at: 1\r\n\r\nversion: STSv1\r\n";
  std::ofstream(dir + "/leftover.example.policy.tmp") << PolicyCache::serialize(sample("t", 1, 100));
  std::ofstream(dir + "/good.example.policy") << PolicyCache::serialize(sample("g", 1, 100));
  auto cache = PolicyCache::open(dir);
  ASSERT_TRUE(cache);
  EXPECT_EQ((*cache)->size(), 1u);
  EXPECT_TRUE((*cache)->get("good.example", 50));
}

TEST(MtaStsCache, DomainsThatNameOtherFilesAreRefused) {
  test::TempDir d("stscache");
  auto cache = PolicyCache::open(d.path + "/mta-sts");
  ASSERT_TRUE(cache);
  for (const char* bad : {"../etc", "a/b", ".hidden", "a..b", "", "x y"})
    EXPECT_FALSE((*cache)->put(bad, sample("i", 1, 100))) << bad;
}

TEST(MtaStsCache, SerializationRoundTrips) {
  auto c = sample("abc123", 1700000000, 604800);
  auto back = PolicyCache::deserialize(PolicyCache::serialize(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, c.id);
  EXPECT_EQ(back->fetched_at, c.fetched_at);
  EXPECT_EQ(back->expires_at, c.expires_at);
  EXPECT_EQ(back->policy.max_age, c.policy.max_age);
}

}  // namespace
}  // namespace volley::mta_sts
