#include "tundra/proto/replay.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace tundra::proto {
namespace {

constexpr uint64_t W = kReplayWindow;  // 8128
constexpr uint64_t T_LIM = W + 1;
constexpr uint64_t RAM = kRejectAfterMessages;

TEST(ReplayTest, WindowIs8128) { EXPECT_EQ(W, 8128u); }

// The kernel's numbered table (selftest/counter.c), as wireguard-go ports it.
TEST(ReplayTest, KernelNumberedCases) {
  struct Case {
    uint64_t counter;
    bool ok;
  };
  const Case cases[] = {
      /* 1 */ {0, true},
      /* 2 */ {1, true},
      /* 3 */ {1, false},
      /* 4 */ {9, true},
      /* 5 */ {8, true},
      /* 6 */ {7, true},
      /* 7 */ {7, false},
      /* 8 */ {T_LIM, true},
      /* 9 */ {T_LIM - 1, true},
      /* 10 */ {T_LIM - 1, false},
      /* 11 */ {T_LIM - 2, true},
      /* 12 */ {2, true},
      /* 13 */ {2, false},
      /* 14 */ {T_LIM + 16, true},
      /* 15 */ {3, false},
      /* 16 */ {T_LIM + 16, false},
      /* 17 */ {T_LIM * 4, true},
      /* 18 */ {T_LIM * 4 - (T_LIM - 1), true},
      /* 19 */ {10, false},
      /* 20 */ {T_LIM * 4 - T_LIM, false},
      /* 21 */ {T_LIM * 4 - (T_LIM + 1), false},
      /* 22 */ {T_LIM * 4 - (T_LIM - 2), true},
      /* 23 */ {T_LIM * 4 + 1 - T_LIM, false},
      /* 24 */ {0, false},
      /* 25 */ {RAM, false},
      /* 26 */ {RAM - 1, true},
      /* 27 */ {RAM, false},
      /* 28 */ {RAM - 1, false},
      /* 29 */ {RAM - 2, true},
      /* 30 */ {RAM + 1, false},
      /* 31 */ {RAM + 2, false},
      /* 32 */ {RAM - 2, false},
      /* 33 */ {RAM - 3, true},
      /* 34 */ {0, false},
  };
  ReplayWindow w;
  int n = 0;
  for (const Case& c : cases) {
    ++n;
    EXPECT_EQ(w.Validate(c.counter, RAM), c.ok) << "case " << n << " counter " << c.counter;
  }
  EXPECT_EQ(n, 34);
  EXPECT_EQ(T_LIM * 4, 32516u);  // the reference table's case 17
}

TEST(ReplayTest, BulkCases) {
  ReplayWindow w;
  // (1) 1..W, then 0 ok, 0 again not.
  for (uint64_t i = 1; i <= W; ++i) ASSERT_TRUE(w.Validate(i, RAM)) << i;
  EXPECT_TRUE(w.Validate(0, RAM));
  EXPECT_FALSE(w.Validate(0, RAM));
  // (2) 2..W+1, then 1 ok, 0 not.
  w.Reset();
  for (uint64_t i = 2; i <= W + 1; ++i) ASSERT_TRUE(w.Validate(i, RAM)) << i;
  EXPECT_TRUE(w.Validate(1, RAM));
  EXPECT_FALSE(w.Validate(0, RAM));
  // (3) W+1 down to 1.
  w.Reset();
  for (uint64_t i = W + 1; i-- > 0;) ASSERT_TRUE(w.Validate(i + 1, RAM)) << i;
  // (4) W+2 down to 2, then 0 not.
  w.Reset();
  for (uint64_t i = W + 2; i >= 2; --i) ASSERT_TRUE(w.Validate(i, RAM)) << i;
  EXPECT_FALSE(w.Validate(0, RAM));
  // (5) W down to 1, then W+1 ok, 0 not.
  w.Reset();
  for (uint64_t i = W; i >= 1; --i) ASSERT_TRUE(w.Validate(i, RAM)) << i;
  EXPECT_TRUE(w.Validate(W + 1, RAM));
  EXPECT_FALSE(w.Validate(0, RAM));
  // (6) W down to 1, then 0 ok, W+1 ok.
  w.Reset();
  for (uint64_t i = W; i >= 1; --i) ASSERT_TRUE(w.Validate(i, RAM)) << i;
  EXPECT_TRUE(w.Validate(0, RAM));
  EXPECT_TRUE(w.Validate(W + 1, RAM));
}

// boringtun's pattern: jump to 3N; everything at or below 2N... is out of the window; then fill
// the window in reverse.
TEST(ReplayTest, JumpThenFillInReverse) {
  ReplayWindow w;
  const uint64_t n = W;
  ASSERT_TRUE(w.Validate(3 * n, RAM));
  for (uint64_t i = 0; i < 2 * n; i += 97) EXPECT_FALSE(w.Validate(i, RAM)) << i;
  for (uint64_t i = 3 * n - 1; i >= 2 * n; --i) ASSERT_TRUE(w.Validate(i, RAM)) << i;
  for (uint64_t i = 2 * n; i <= 3 * n; ++i) ASSERT_FALSE(w.Validate(i, RAM)) << i;
}

// Differential check against an obvious model: accepted iff new, below the limit, and within
// W of the highest counter accepted so far.
TEST(ReplayTest, DifferentialAgainstSetOracle) {
  const uint64_t seed = 0x7e1ad;
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 20; ++round) {
    ReplayWindow w;
    std::set<uint64_t> seen;
    uint64_t highest = 0;
    bool any = false;
    uint64_t base = round % 2 ? 0 : RAM - 50000;
    for (int i = 0; i < 20000; ++i) {
      uint64_t c;
      switch (rng() % 4) {
        case 0:
          c = highest + rng() % 100;
          break;  // forward
        case 1:
          c = highest > 9000 ? highest - rng() % 9000 : rng() % 9000;
          break;  // near edge
        case 2:
          c = base + rng() % 40000;
          break;  // anywhere
        default:
          c = highest + rng() % 20000;
          break;  // big jump
      }
      if (round % 2 == 0 && c < base) c = base;
      const bool expected = c < RAM && !seen.count(c) && (!any || c > highest || highest - c <= W);
      ASSERT_EQ(w.Validate(c, RAM), expected)
          << "seed " << seed << " round " << round << " i " << i << " counter " << c;
      if (expected) {
        seen.insert(c);
        if (!any || c > highest) highest = c;
        any = true;
      }
    }
  }
}

}  // namespace
}  // namespace tundra::proto
