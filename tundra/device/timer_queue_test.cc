#include "tundra/device/timer_queue.h"

#include <gtest/gtest.h>

namespace tundra::device {
namespace {

using std::chrono::seconds;

struct Owner {
  TimerSlot slot;
};

TimePoint At(int s) { return TimePoint(seconds(s)); }

TEST(TimerQueueTest, PopsDueEntriesEarliestFirst) {
  TimerQueue<Owner> q;
  auto a = std::make_shared<Owner>(), b = std::make_shared<Owner>();
  EXPECT_TRUE(q.Schedule(a, a->slot, At(20)));
  EXPECT_TRUE(q.Schedule(b, b->slot, At(10)));
  EXPECT_EQ(q.Earliest(), At(10));
  EXPECT_FALSE(q.PopDue(At(9)));
  auto e = q.PopDue(At(30));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->owner.lock(), b);
  EXPECT_TRUE(TimerQueue<Owner>::Claim(*e, b->slot));
  e = q.PopDue(At(30));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->owner.lock(), a);
  EXPECT_FALSE(q.PopDue(At(30)));
}

TEST(TimerQueueTest, LaterDeadlineKeepsTheEarlierEntry) {
  TimerQueue<Owner> q;
  auto a = std::make_shared<Owner>();
  EXPECT_TRUE(q.Schedule(a, a->slot, At(10)));
  EXPECT_FALSE(q.Schedule(a, a->slot, At(15)));  // fires at 10, then the owner is polled
  EXPECT_FALSE(q.Schedule(a, a->slot, std::nullopt));
  EXPECT_EQ(q.size(), 1u);
}

TEST(TimerQueueTest, EarlierDeadlineMakesTheOldEntryStale) {
  TimerQueue<Owner> q;
  auto a = std::make_shared<Owner>();
  ASSERT_TRUE(q.Schedule(a, a->slot, At(10)));
  ASSERT_TRUE(q.Schedule(a, a->slot, At(5)));
  auto first = q.PopDue(At(100));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->at, At(5));
  EXPECT_TRUE(TimerQueue<Owner>::Claim(*first, a->slot));
  auto stale = q.PopDue(At(100));
  ASSERT_TRUE(stale);
  EXPECT_FALSE(TimerQueue<Owner>::Claim(*stale, a->slot));
  // Once claimed, the owner schedules again from scratch.
  EXPECT_TRUE(q.Schedule(a, a->slot, At(50)));
}

TEST(TimerQueueTest, ClaimingTwiceFails) {
  TimerQueue<Owner> q;
  auto a = std::make_shared<Owner>();
  ASSERT_TRUE(q.Schedule(a, a->slot, At(1)));
  auto e = q.PopDue(At(1));
  ASSERT_TRUE(e);
  EXPECT_TRUE(TimerQueue<Owner>::Claim(*e, a->slot));
  EXPECT_FALSE(TimerQueue<Owner>::Claim(*e, a->slot));
}

TEST(TimerQueueTest, EntriesOfDeadOwnersExpire) {
  TimerQueue<Owner> q;
  {
    auto a = std::make_shared<Owner>();
    ASSERT_TRUE(q.Schedule(a, a->slot, At(1)));
  }
  auto e = q.PopDue(At(1));
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->owner.lock());
}

}  // namespace
}  // namespace tundra::device
