#include "tundra/impair/link.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include "tundra/base/fake_clock.h"

namespace tundra::impair {
namespace {

using std::chrono::milliseconds;

std::vector<uint8_t> Packet(uint8_t first, size_t size = 100) {
  std::vector<uint8_t> p(size);
  std::iota(p.begin(), p.end(), first);
  return p;
}

TEST(LinkTest, HoldsCopiesUntilTheirDelayWithHeadroomAndTag) {
  FakeClock clock;
  DirectionConfig c;
  c.delay = milliseconds(10);
  Link link(c, 1, {.max_held = 100, .headroom = 16});
  auto p = Packet(7);
  EXPECT_EQ(link.Admit(clock.Now(), p, 42), 1u);
  std::vector<Link::Buffer> due;
  clock.Advance(milliseconds(9));
  EXPECT_EQ(link.PopDue(clock.Now(), due, 10), 0u);
  ASSERT_TRUE(link.NextRelease().has_value());
  clock.Advance(milliseconds(1));
  ASSERT_EQ(link.PopDue(clock.Now(), due, 10), 1u);
  EXPECT_EQ(due[0].tag, 42u);
  EXPECT_EQ(due[0].headroom, 16u);
  EXPECT_EQ(due[0].whole().size(), 116u);
  const auto payload = due[0].payload();
  EXPECT_EQ(std::vector<uint8_t>(payload.begin(), payload.end()), p);
  EXPECT_EQ(link.held(), 0u);
  EXPECT_FALSE(link.NextRelease().has_value());
}

TEST(LinkTest, PopDueReleasesAtMostMaxInArrivalOrder) {
  FakeClock clock;
  Link link(DirectionConfig{}, 1, {});
  for (uint8_t i = 0; i < 10; ++i) {
    auto p = Packet(i, 8);
    link.Admit(clock.Now(), p, i);
  }
  std::vector<Link::Buffer> due;
  EXPECT_EQ(link.PopDue(clock.Now(), due, 4), 4u);
  EXPECT_EQ(link.PopDue(clock.Now(), due, 100), 6u);
  ASSERT_EQ(due.size(), 10u);
  for (size_t i = 0; i < due.size(); ++i) EXPECT_EQ(due[i].tag, i);
}

TEST(LinkTest, BeyondMaxHeldIsAQueueFullDrop) {
  FakeClock clock;
  DirectionConfig c;
  c.delay = milliseconds(1);
  c.duplicate = 100;  // two copies each
  Link link(c, 1, {.max_held = 5});
  for (int i = 0; i < 4; ++i) {
    auto p = Packet(uint8_t(i));
    link.Admit(clock.Now(), p);
  }
  EXPECT_EQ(link.held(), 5u);
  EXPECT_EQ(link.model().counters().dropped[size_t(DropReason::kQueueFull)], 3u);
  EXPECT_EQ(link.model().counters().received, 4u);
  EXPECT_EQ(link.model().counters().duplicated, 4u);
}

TEST(LinkTest, RecycledBuffersAreReusedSoASteadyStreamDoesNotAllocate) {
  FakeClock clock;
  DirectionConfig c;
  c.delay = milliseconds(1);
  Link link(c, 1, {});
  std::vector<const uint8_t*> first_round;
  std::vector<Link::Buffer> due;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 8; ++i) {
      auto p = Packet(uint8_t(i), 1400);
      link.Admit(clock.Now(), p);
    }
    clock.Advance(milliseconds(1));
    due.clear();
    ASSERT_EQ(link.PopDue(clock.Now(), due, 100), 8u);
    std::vector<const uint8_t*> data;
    for (auto& b : due) data.push_back(b.bytes.data());
    if (round == 0) {
      first_round = data;
    } else {
      // The same storage comes back (in some order): nothing new was allocated.
      std::sort(data.begin(), data.end());
      auto sorted = first_round;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(data, sorted) << "round " << round;
    }
    for (auto& b : due) link.Recycle(std::move(b));
  }
}

TEST(LinkTest, JumboBuffersAreFreedNotKept) {
  FakeClock clock;
  Link link(DirectionConfig{}, 1, {});
  auto big = Packet(0, kMaxSpareBytes + 1);
  link.Admit(clock.Now(), big);
  std::vector<Link::Buffer> due;
  ASSERT_EQ(link.PopDue(clock.Now(), due, 1), 1u);
  link.Recycle(std::move(due[0]));
  auto small = Packet(0, 10);
  link.Admit(clock.Now(), small);
  due.clear();
  ASSERT_EQ(link.PopDue(clock.Now(), due, 1), 1u);
  EXPECT_LE(due[0].bytes.capacity(), kMaxSpareBytes);
}

}  // namespace
}  // namespace tundra::impair
