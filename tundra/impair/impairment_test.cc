#include "tundra/impair/impairment.h"

#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "tundra/base/fake_clock.h"
#include "tundra/impair/scheduler.h"

namespace tundra::impair {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr size_t kPackets = 10'000;

// The indices of the packets dropped among `n` packets of `size` bytes, one per `gap`.
std::vector<size_t> DroppedIndices(const DirectionConfig& c, uint64_t seed, size_t n = kPackets,
                                   size_t size = 100, Duration gap = microseconds(100)) {
  FakeClock clock;
  Impairment imp(c, seed);
  std::vector<uint8_t> packet(size);
  std::vector<size_t> dropped;
  for (size_t i = 0; i < n; ++i) {
    if (imp.Decide(clock.Now(), packet).copies == 0) dropped.push_back(i);
    clock.Advance(gap);
  }
  return dropped;
}

TEST(ImpairmentTest, SameSeedSameDropsDifferentSeedDifferent) {
  DirectionConfig c;
  c.loss = 20;
  const auto a = DroppedIndices(c, 7);
  EXPECT_EQ(a, DroppedIndices(c, 7));
  EXPECT_NE(a, DroppedIndices(c, 8));
  // Other impairments do not shift the loss decisions (a fixed number of draws per packet).
  DirectionConfig more = c;
  more.delay = milliseconds(10);
  more.jitter = milliseconds(3);
  more.duplicate = 5;
  more.corrupt = 5;
  more.reorder = 5;
  EXPECT_EQ(a, DroppedIndices(more, 7));
}

struct RateCase {
  double loss;
  double tolerance;  // absolute, in percent
};

TEST(ImpairmentTest, LossRateWithinTolerance) {
  const RateCase cases[] = {{0, 0}, {1, 0.3}, {5, 0.7}, {20, 1.5}, {50, 1.8}, {100, 0}};
  for (const RateCase& rc : cases) {
    for (uint64_t seed : {1u, 7u, 12345u}) {
      DirectionConfig c;
      c.loss = rc.loss;
      const double pct = 100.0 * double(DroppedIndices(c, seed).size()) / kPackets;
      EXPECT_NEAR(pct, rc.loss, rc.tolerance) << "loss " << rc.loss << " seed " << seed;
    }
  }
}

TEST(ImpairmentTest, LossCountedByReason) {
  DirectionConfig c;
  c.loss = 30;
  Impairment imp(c, 3);
  std::vector<uint8_t> p(10);
  size_t zero = 0;
  for (size_t i = 0; i < 1000; ++i) {
    Decision d = imp.Decide(TimePoint(), p);
    if (d.copies == 0) {
      ASSERT_EQ(d.drop, DropReason::kLoss);
      ++zero;
    }
  }
  EXPECT_EQ(imp.counters().received, 1000u);
  EXPECT_EQ(imp.counters().dropped[size_t(DropReason::kLoss)], zero);
  EXPECT_EQ(imp.counters().dropped_total(), zero);
}

struct DelayCase {
  Duration delay;
  uint64_t rate_kbit;
  size_t size;
  // Release of packets 0, 1, 2, all arriving at t=0.
  std::array<Duration, 3> expected;
};

TEST(ImpairmentTest, DelaysAndRatesComputedExactly) {
  const DelayCase cases[] = {
      {milliseconds(0), 0, 100, {Duration(0), Duration(0), Duration(0)}},
      {milliseconds(100), 0, 100, {milliseconds(100), milliseconds(100), milliseconds(100)}},
      // 1500 bytes at 1000 kbit/s: 12 ms each, back to back.
      {milliseconds(0), 1000, 1500, {milliseconds(12), milliseconds(24), milliseconds(36)}},
      {milliseconds(50), 1000, 1500, {milliseconds(62), milliseconds(74), milliseconds(86)}},
      // 100 bytes at 10 Mbit/s: 80 us each.
      {milliseconds(0), 10'000, 100, {microseconds(80), microseconds(160), microseconds(240)}},
  };
  for (const DelayCase& dc : cases) {
    DirectionConfig c;
    c.delay = dc.delay;
    c.rate_kbit = dc.rate_kbit;
    Impairment imp(c, 1);
    std::vector<uint8_t> p(dc.size);
    const TimePoint t0(std::chrono::hours(1));
    for (size_t i = 0; i < 3; ++i) {
      Decision d = imp.Decide(t0, p);
      ASSERT_EQ(d.copies, 1u);
      EXPECT_EQ(d.release[0] - t0, dc.expected[i])
          << "delay " << dc.delay.count() << " rate " << dc.rate_kbit << " packet " << i;
    }
  }
}

TEST(ImpairmentTest, RateIdleLinkStartsAtArrival) {
  DirectionConfig c;
  c.rate_kbit = 1000;
  Impairment imp(c, 1);
  std::vector<uint8_t> p(1500);
  FakeClock clock;
  const TimePoint t0 = clock.Now();
  EXPECT_EQ(imp.Decide(clock.Now(), p).release[0] - t0, milliseconds(12));
  clock.Advance(milliseconds(100));  // the link went idle
  EXPECT_EQ(imp.Decide(clock.Now(), p).release[0] - t0, milliseconds(112));
}

TEST(ImpairmentTest, QueueLimitTailDrops) {
  DirectionConfig c;
  c.rate_kbit = 1000;  // 1000 bytes: 8 ms
  c.queue_bytes = 3000;
  Impairment imp(c, 1);
  std::vector<uint8_t> p(1000);
  FakeClock clock;
  std::vector<bool> kept;
  for (int i = 0; i < 5; ++i) kept.push_back(imp.Decide(clock.Now(), p).copies == 1);
  EXPECT_EQ(kept, (std::vector<bool>{true, true, true, false, false}));
  EXPECT_EQ(imp.counters().dropped[size_t(DropReason::kQueueFull)], 2u);
  EXPECT_EQ(imp.counters().queue_high_water, 3000u);
  EXPECT_EQ(imp.QueuedBytes(clock.Now()), 3000u);
  clock.Advance(milliseconds(8));  // the first left the bottleneck
  EXPECT_EQ(imp.QueuedBytes(clock.Now()), 2000u);
  Decision d = imp.Decide(clock.Now(), p);
  ASSERT_EQ(d.copies, 1u);
  EXPECT_EQ(d.release[0] - (clock.Now() - milliseconds(8)), milliseconds(32));
}

TEST(ImpairmentTest, GilbertElliottStateChanges) {
  // p = 100: the first packet enters the bad state; loss_bad 100 drops it; r = 0: stays bad.
  {
    DirectionConfig c;
    c.burst = {100, 0, 100, 0};
    Impairment imp(c, 1);
    std::vector<uint8_t> p(10);
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(imp.Decide(TimePoint(), p).drop, DropReason::kBurstLoss);
      EXPECT_TRUE(imp.in_bad_state());
    }
    EXPECT_EQ(imp.counters().dropped[size_t(DropReason::kBurstLoss)], 10u);
  }
  // p = 100, r = 100: bad, good, bad, good...; only the bad packets are lost.
  {
    DirectionConfig c;
    c.burst = {100, 100, 100, 0};
    Impairment imp(c, 1);
    std::vector<uint8_t> p(10);
    for (int i = 0; i < 10; ++i) {
      const bool lost = imp.Decide(TimePoint(), p).copies == 0;
      EXPECT_EQ(imp.in_bad_state(), i % 2 == 0) << i;
      EXPECT_EQ(lost, i % 2 == 0) << i;
    }
  }
  // Bursts: mean burst length 1/r, stationary loss p/(p+r) (loss_bad 100, loss_good 0).
  {
    DirectionConfig c;
    c.burst = {5, 25, 100, 0};
    const auto dropped = DroppedIndices(c, 42, 100'000);
    const double loss = double(dropped.size()) / 100'000;
    EXPECT_NEAR(loss, 5.0 / 30.0, 0.01);
    size_t bursts = 0;
    for (size_t i = 0; i < dropped.size(); ++i) {
      if (i == 0 || dropped[i] != dropped[i - 1] + 1) ++bursts;
    }
    EXPECT_NEAR(double(dropped.size()) / double(bursts), 1 / 0.25, 0.2);
  }
}

TEST(ImpairmentTest, ReorderSendsAtOnceAndCounts) {
  DirectionConfig c;
  c.delay = milliseconds(100);
  c.reorder = 25;
  Impairment imp(c, 9);
  std::vector<uint8_t> p(10);
  size_t at_once = 0;
  for (size_t i = 0; i < kPackets; ++i) {
    Decision d = imp.Decide(TimePoint(), p);
    ASSERT_EQ(d.copies, 1u);
    EXPECT_EQ(d.release[0] - TimePoint(), d.reordered ? Duration(0) : milliseconds(100));
    at_once += d.reordered;
  }
  EXPECT_EQ(imp.counters().reordered, at_once);
  EXPECT_NEAR(double(at_once) / kPackets, 0.25, 0.015);
  // Without a delay there is nothing to jump ahead of: no reordering.
  DirectionConfig none;
  none.reorder = 100;
  Impairment imp2(none, 9);
  EXPECT_FALSE(imp2.Decide(TimePoint(), p).reordered);
  EXPECT_EQ(imp2.counters().reordered, 0u);
}

TEST(ImpairmentTest, DuplicateCounts) {
  DirectionConfig c;
  c.duplicate = 10;
  c.delay = milliseconds(5);
  Impairment imp(c, 5);
  std::vector<uint8_t> p(10);
  size_t copies = 0;
  for (size_t i = 0; i < kPackets; ++i) {
    Decision d = imp.Decide(TimePoint(), p);
    copies += d.copies;
    for (size_t k = 0; k < d.copies; ++k) EXPECT_EQ(d.release[k] - TimePoint(), milliseconds(5));
  }
  EXPECT_EQ(copies, kPackets + imp.counters().duplicated);
  EXPECT_NEAR(double(imp.counters().duplicated) / kPackets, 0.10, 0.01);
}

TEST(ImpairmentTest, CorruptFlipsExactlyOneBit) {
  DirectionConfig c;
  c.corrupt = 50;
  Impairment imp(c, 11);
  size_t corrupted = 0;
  for (size_t i = 0; i < 2000; ++i) {
    std::vector<uint8_t> p(1 + i % 300, uint8_t(i));
    const std::vector<uint8_t> before = p;
    Decision d = imp.Decide(TimePoint(), p);
    size_t flipped = 0;
    for (size_t b = 0; b < p.size(); ++b) flipped += std::popcount(uint8_t(p[b] ^ before[b]));
    if (d.flipped_bit) {
      ++corrupted;
      ASSERT_EQ(flipped, 1u);
      EXPECT_NE(p[*d.flipped_bit / 8], before[*d.flipped_bit / 8]);
    } else {
      ASSERT_EQ(flipped, 0u);
    }
  }
  EXPECT_EQ(imp.counters().corrupted, corrupted);
  EXPECT_NEAR(double(corrupted) / 2000, 0.5, 0.05);
}

TEST(ImpairmentTest, MtuDropsLargerDatagrams) {
  DirectionConfig c;
  c.mtu = 1280;
  Impairment imp(c, 1);
  const struct {
    size_t size;
    bool kept;
  } cases[] = {{0, true}, {1, true}, {1280, true}, {1281, false}, {9000, false}};
  for (const auto& mc : cases) {
    std::vector<uint8_t> p(mc.size);
    Decision d = imp.Decide(TimePoint(), p);
    EXPECT_EQ(d.copies == 1, mc.kept) << mc.size;
    if (!mc.kept) {
      EXPECT_EQ(d.drop, DropReason::kTooBig);
    }
  }
  EXPECT_EQ(imp.counters().dropped[size_t(DropReason::kTooBig)], 2u);
}

TEST(ImpairmentTest, MtuDoesNotCountTheLinkHeader) {
  DirectionConfig c;
  c.mtu = 1280;
  c.link_header = 14;  // a TAP frame: the MTU is the IP packet's
  Impairment imp(c, 1);
  std::vector<uint8_t> fits(1294), big(1295);
  EXPECT_EQ(imp.Decide(TimePoint(), fits).copies, 1u);
  EXPECT_EQ(imp.Decide(TimePoint(), big).drop, DropReason::kTooBig);
}

// Too-big replies: a token bucket of `burst` replies refilled at `per_second`, on a fake clock.
TEST(ImpairmentTest, TooBigRepliesAreRateLimited) {
  DirectionConfig c;
  c.mtu = 1280;
  c.too_big_reply = TooBigReply{.per_second = 100, .burst = 5};
  FakeClock clock;
  Impairment imp(c, 1);
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += imp.AllowTooBigReply(clock.Now());
  EXPECT_EQ(allowed, 5) << "a burst of 5 at one instant";
  clock.Advance(milliseconds(9));
  EXPECT_FALSE(imp.AllowTooBigReply(clock.Now())) << "one reply per 10 ms after the burst";
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(imp.AllowTooBigReply(clock.Now()));
  EXPECT_FALSE(imp.AllowTooBigReply(clock.Now()));
  // A steady 1000 too-big packets a second for 2 s get 100 replies a second (+ the burst).
  allowed = 0;
  for (int i = 0; i < 2000; ++i) {
    clock.Advance(milliseconds(1));
    allowed += imp.AllowTooBigReply(clock.Now());
  }
  EXPECT_EQ(allowed, 200);
  // Idle for a second: the bucket is full again, and holds no more than the burst.
  clock.Advance(std::chrono::seconds(1));
  allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += imp.AllowTooBigReply(clock.Now());
  EXPECT_EQ(allowed, 5);
  EXPECT_EQ(imp.counters().too_big_replied, 5u + 1 + 200 + 5);
  EXPECT_EQ(imp.counters().too_big_rate_limited, 15u + 1 + 1 + 1800 + 15);
  imp.CountTooBigUnanswerable();
  EXPECT_EQ(imp.counters().too_big_unanswerable, 1u);
}

TEST(ImpairmentTest, TooBigRepliesWithoutLimit) {
  DirectionConfig c;
  c.too_big_reply = TooBigReply{.per_second = 0};
  Impairment imp(c, 1);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(imp.AllowTooBigReply(TimePoint()));
}

TEST(ImpairmentTest, JitterWithoutReorderingKeepsOrder) {
  for (bool reorders : {false, true}) {
    DirectionConfig c;
    c.delay = milliseconds(20);
    c.jitter = milliseconds(10);
    c.jitter_reorders = reorders;
    Impairment imp(c, 3);
    FakeClock clock;
    std::vector<uint8_t> p(10);
    TimePoint last{};
    size_t out_of_order = 0;
    for (size_t i = 0; i < 1000; ++i) {
      Decision d = imp.Decide(clock.Now(), p);
      const Duration delay = d.release[0] - clock.Now();
      EXPECT_GE(delay, milliseconds(10));
      if (reorders) {
        EXPECT_LE(delay, milliseconds(30));
      }
      out_of_order += d.release[0] < last;
      last = std::max(last, d.release[0]);
      clock.Advance(milliseconds(1));
    }
    if (reorders) {
      EXPECT_GT(out_of_order, 100u);
    } else {
      EXPECT_EQ(out_of_order, 0u);
    }
  }
}

TEST(ImpairmentTest, EveryCopyAccountedFor) {
  DirectionConfig c;
  c.loss = 5;
  c.burst = {2, 30, 80, 1};
  c.duplicate = 5;
  c.rate_kbit = 2000;
  c.queue_bytes = 20'000;
  c.mtu = 1400;
  c.delay = milliseconds(3);
  Impairment imp(c, 77);
  FakeClock clock;
  Scheduler<size_t> sched;
  for (size_t i = 0; i < kPackets; ++i) {
    std::vector<uint8_t> p(100 + (i * 37) % 1400);
    Decision d = imp.Decide(clock.Now(), p);
    for (size_t k = 0; k < d.copies; ++k) sched.Push(d.release[k], i);
    sched.PopDue(clock.Now(), [&](size_t) { imp.OnReleased(); });
    clock.Advance(microseconds(300));
  }
  const Counters& k = imp.counters();
  EXPECT_EQ(k.received + k.duplicated, k.sent + k.dropped_total() + sched.size());
  for (size_t r = 0; r < kDropReasons; ++r) EXPECT_GT(k.dropped[r], 0u) << r;
  EXPECT_LE(k.queue_high_water, c.queue_bytes);
}

TEST(SchedulerTest, ReleasesByTimeThenArrival) {
  Scheduler<int> s;
  const TimePoint t0(std::chrono::seconds(5));
  s.Push(t0 + milliseconds(30), 1);
  s.Push(t0 + milliseconds(10), 2);
  s.Push(t0 + milliseconds(10), 3);
  s.Push(t0 + milliseconds(20), 4);
  EXPECT_EQ(s.NextRelease(), t0 + milliseconds(10));
  std::vector<int> out;
  auto collect = [&](int v) { out.push_back(v); };
  EXPECT_EQ(s.PopDue(t0 + milliseconds(9), collect), 0u);
  EXPECT_EQ(s.PopDue(t0 + milliseconds(20), collect), 3u);
  EXPECT_EQ(out, (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(s.PopDue(t0 + milliseconds(100), collect), 1u);
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.NextRelease().has_value());
}

TEST(SchedulerTest, MovesOwningItemsOut) {
  Scheduler<std::vector<uint8_t>> s;
  for (int i = 0; i < 100; ++i) {
    s.Push(TimePoint(milliseconds(100 - i)), std::vector<uint8_t>(size_t(i + 1), uint8_t(i)));
  }
  size_t expected = 100;
  s.PopDue(TimePoint(milliseconds(100)), [&](std::vector<uint8_t> v) {
    ASSERT_EQ(v.size(), expected);
    EXPECT_EQ(v.back(), uint8_t(expected - 1));
    --expected;
  });
  EXPECT_EQ(expected, 0u);
}

TEST(CountersTest, TextAndJson) {
  Counters c;
  c.received = 10;
  c.sent = 7;
  c.dropped[size_t(DropReason::kQueueFull)] = 3;
  c.queue_high_water = 4096;
  c.too_big_replied = 5;
  c.too_big_rate_limited = 2;
  c.too_big_unanswerable = 1;
  const std::string text = FormatCounters(c, "up ");
  EXPECT_NE(text.find("up too_big_replies_sent 5\nup too_big_replies_rate_limited 2\n"
                      "up too_big_unanswerable 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("up dropped_queue_full 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("up queue_high_water_bytes 4096\n"), std::string::npos) << text;
  EXPECT_EQ(CountersJson(c),
            "{\"received\":10,\"sent\":7,\"dropped\":{\"loss\":0,\"burst_loss\":0,"
            "\"queue_full\":3,\"too_big\":0},\"duplicated\":0,\"corrupted\":0,\"reordered\":0,"
            "\"queue_high_water_bytes\":4096,\"too_big_replies\":{\"sent\":5,\"rate_limited\":2,"
            "\"unanswerable\":1}}");
}

}  // namespace
}  // namespace tundra::impair
