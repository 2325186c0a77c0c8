// WaitingRoom: ids parked per full destination come back oldest first, one
// release per freed job; unparked, moved and dead ids are never handed out.
#include "delivery/waiting_room.hpp"

#include <gtest/gtest.h>

namespace volley::delivery {
namespace {

const auto kAllLive = [](const std::string&) { return true; };

TEST(WaitingRoom, ReleasesOldestFirstUpToN) {
  WaitingRoom w;
  w.park("a", "x.example");
  w.park("b", "x.example");
  w.park("c", "x.example");
  w.park("z", "y.example");
  EXPECT_EQ(w.size(), 4u);
  ASSERT_NE(w.parked_on("b"), nullptr);
  EXPECT_EQ(*w.parked_on("b"), "x.example");
  EXPECT_EQ(w.release("x.example", 2, kAllLive), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(w.parked_on("a"), nullptr) << "released ids are no longer parked";
  EXPECT_EQ(w.release("x.example", 5, kAllLive), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(w.release("x.example", 5, kAllLive).empty());
  EXPECT_EQ(w.keys(), (std::vector<std::string>{"y.example"})) << "an emptied queue is dropped";
  EXPECT_EQ(w.size(), 1u);
}

TEST(WaitingRoom, ParkingTwiceKeepsOnePlace) {
  WaitingRoom w;
  w.park("a", "x");
  w.park("b", "x");
  w.park("a", "x");
  EXPECT_EQ(w.release("x", 10, kAllLive), (std::vector<std::string>{"a", "b"}));
}

TEST(WaitingRoom, UnparkedIdsAreSkipped) {
  WaitingRoom w;
  w.park("a", "x");
  w.park("b", "x");
  w.unpark("a");
  EXPECT_EQ(w.parked_on("a"), nullptr);
  EXPECT_EQ(w.release("x", 1, kAllLive), (std::vector<std::string>{"b"})) << "a stale entry does not use up a release";
  EXPECT_EQ(w.size(), 0u);
  EXPECT_TRUE(w.keys().empty());
}

TEST(WaitingRoom, AnIdMovedToAnotherDestinationLeavesTheFirst) {
  WaitingRoom w;
  w.park("a", "x");
  w.park("a", "y");
  EXPECT_EQ(*w.parked_on("a"), "y");
  EXPECT_TRUE(w.release("x", 10, kAllLive).empty());
  EXPECT_EQ(w.release("y", 10, kAllLive), (std::vector<std::string>{"a"}));
}

TEST(WaitingRoom, ParkedAgainAfterUnparkComesOutOnce) {
  WaitingRoom w;
  w.park("a", "x");
  w.unpark("a");
  w.park("a", "x");  // its old entry is still queued
  EXPECT_EQ(w.release("x", 10, kAllLive), (std::vector<std::string>{"a"}));
}

TEST(WaitingRoom, DeadIdsAreDroppedAndDoNotCountAgainstN) {
  WaitingRoom w;
  for (const char* id : {"a", "b", "c", "d"}) w.park(id, "x");
  auto live = [](const std::string& id) { return id != "a" && id != "c"; };
  EXPECT_EQ(w.release("x", 2, live), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(w.size(), 0u) << "dead ids are unparked, not kept";
}

TEST(WaitingRoom, UnknownDestinationReleasesNothing) {
  WaitingRoom w;
  EXPECT_TRUE(w.release("nowhere", 3, kAllLive).empty());
  EXPECT_EQ(w.parked_on("a"), nullptr);
}

}  // namespace
}  // namespace volley::delivery
