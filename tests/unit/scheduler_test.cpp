// Scheduler: due order, rescheduling, removal, admin make_due, bad ids,
// and that stale heap entries never resurface.
#include "queue/scheduler.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "queue/queue_id.hpp"

namespace volley::queue {
namespace {

std::string id_n(int n) {
  std::string s = "00000000000000000000";
  std::string t = std::to_string(n);
  s.replace(s.size() - t.size(), t.size(), t);
  return s;
}

TEST(Scheduler, PopsInDueOrderOnlyWhenDue) {
  Scheduler s;
  ASSERT_TRUE(s.schedule(id_n(3), 300));
  ASSERT_TRUE(s.schedule(id_n(1), 100));
  ASSERT_TRUE(s.schedule(id_n(2), 200));
  EXPECT_EQ(s.next_due(), 100);
  std::vector<std::string> out;
  EXPECT_EQ(s.pop_due(50, 10, out), 0u);
  EXPECT_EQ(s.pop_due(250, 10, out), 2u);
  EXPECT_EQ(out, (std::vector<std::string>{id_n(1), id_n(2)}));
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.next_due(), 300);
}

TEST(Scheduler, RescheduleMovesAndRemoveForgets) {
  Scheduler s;
  s.schedule(id_n(1), 100);
  s.schedule(id_n(2), 200);
  s.schedule(id_n(1), 500);  // moved later: its old entry at 100 is stale
  s.remove(id_n(2));
  EXPECT_EQ(s.next_due(), 500);
  std::vector<std::string> out;
  EXPECT_EQ(s.pop_due(400, 10, out), 0u) << "stale entries must not pop";
  EXPECT_EQ(s.pop_due(500, 10, out), 1u);
  EXPECT_EQ(out[0], id_n(1));
  EXPECT_FALSE(s.next_due());
}

TEST(Scheduler, PopRespectsMax) {
  Scheduler s;
  for (int i = 0; i < 10; ++i) s.schedule(id_n(i), i);
  std::vector<std::string> out;
  EXPECT_EQ(s.pop_due(100, 3, out), 3u);
  EXPECT_EQ(s.size(), 7u);
}

TEST(Scheduler, MakeDueMovesPickedOnly) {
  Scheduler s;
  for (int i = 0; i < 10; ++i) s.schedule(id_n(i), 10000 + i);
  size_t moved = s.make_due(5, [](std::string_view id) { return id.back() == '3' || id.back() == '7'; });
  EXPECT_EQ(moved, 2u);
  std::vector<std::string> out;
  EXPECT_EQ(s.pop_due(5, 100, out), 2u);
  EXPECT_EQ(std::set<std::string>(out.begin(), out.end()), (std::set<std::string>{id_n(3), id_n(7)}));
  EXPECT_EQ(s.size(), 8u);
}

TEST(Scheduler, RejectsMalformedIds) {
  Scheduler s;
  EXPECT_FALSE(s.schedule("short", 1));
  EXPECT_FALSE(s.schedule(std::string(21, 'A'), 1));
  EXPECT_EQ(s.size(), 0u);
}

TEST(Scheduler, RandomisedAgainstReference) {
  // Many reschedules (stale entries, compaction) against a simple map.
  Scheduler s;
  std::map<std::string, int64_t> ref;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    std::string id = id_n(static_cast<int>(rng() % 500));
    int op = static_cast<int>(rng() % 10);
    if (op < 7) {
      int64_t due = rng() % 100000;
      s.schedule(id, due);
      ref[id] = due;
    } else if (op < 9) {
      s.remove(id);
      ref.erase(id);
    } else {
      int64_t now = rng() % 100000;
      std::vector<std::string> out;
      s.pop_due(now, 1000000, out);
      std::set<std::string> expect;
      for (auto it = ref.begin(); it != ref.end();)
        if (it->second <= now) {
          expect.insert(it->first);
          it = ref.erase(it);
        } else {
          ++it;
        }
      ASSERT_EQ(std::set<std::string>(out.begin(), out.end()), expect) << "step " << step;
    }
    ASSERT_EQ(s.size(), ref.size());
  }
}

TEST(Scheduler, RealQueueIdsWork) {
  Scheduler s;
  std::string id = make_queue_id();
  ASSERT_TRUE(s.schedule(id, 1));
  EXPECT_TRUE(s.contains(id));
}

}  // namespace
}  // namespace volley::queue
