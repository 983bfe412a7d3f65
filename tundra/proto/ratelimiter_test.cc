#include "tundra/proto/ratelimiter.h"

#include <gtest/gtest.h>

#include <vector>

namespace tundra::proto {
namespace {

using std::chrono::milliseconds;

std::vector<std::vector<uint8_t>> Sources() {
  std::vector<std::vector<uint8_t>> s;
  for (uint8_t i = 0; i < 8; ++i) s.push_back({198, 18, i, uint8_t(1 + i)});
  for (uint8_t i = 0; i < 6; ++i) {
    std::vector<uint8_t> v(16, 0);
    v[0] = 0xfd;
    v[1] = 0x18;
    v[7] = i;
    v[15] = 1;
    s.push_back(v);
  }
  return s;
}

// The kernel's expected_results table (selftest/ratelimiter.c), driven by a fake clock.
TEST(RateLimiterTest, KernelExpectedResults) {
  struct Step {
    milliseconds advance;
    bool allowed;
  };
  std::vector<Step> steps;
  for (int i = 0; i < 5; ++i) steps.push_back({milliseconds(0), true});
  steps.push_back({milliseconds(0), false});
  steps.push_back({milliseconds(50), true});  // one packet's worth of tokens refilled
  steps.push_back({milliseconds(0), false});
  steps.push_back({milliseconds(100), true});
  steps.push_back({milliseconds(0), true});
  steps.push_back({milliseconds(0), false});

  FakeClock clock;
  RateLimiter limiter(clock);
  auto sources = Sources();
  ASSERT_EQ(sources.size(), 14u);
  for (size_t n = 0; n < steps.size(); ++n) {
    clock.Advance(steps[n].advance);
    for (const auto& src : sources) {
      EXPECT_EQ(limiter.Allow(src), steps[n].allowed) << "step " << n << " source " << src.size();
      // Independence: an address nobody has used is always allowed.
      std::vector<uint8_t> other = src;
      other[src.size() == 4 ? 3 : 7] ^= 0x80;
      other[0] ^= uint8_t(n + 1);
      EXPECT_TRUE(limiter.Allow(other)) << "step " << n;
    }
  }
}

TEST(RateLimiterTest, Ipv6SharesBucketPerSlash64) {
  FakeClock clock;
  RateLimiter limiter(clock);
  std::vector<uint8_t> a(16, 0), b(16, 0);
  a[0] = b[0] = 0xfd;
  a[15] = 1;
  b[15] = 2;
  b[9] = 0xff;  // differs only in the low 64 bits
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Allow(i % 2 ? a : b));
  EXPECT_FALSE(limiter.Allow(a));
  EXPECT_FALSE(limiter.Allow(b));
}

TEST(RateLimiterTest, CapacityFailsClosedAndGcFrees) {
  FakeClock clock;
  RateLimiter limiter(clock, 10);
  for (uint8_t i = 0; i < 10; ++i) EXPECT_TRUE(limiter.Allow(std::vector<uint8_t>{198, 18, 1, i}));
  EXPECT_FALSE(limiter.Allow(std::vector<uint8_t>{198, 18, 1, 200}));
  EXPECT_EQ(limiter.size(), 10u);
  clock.Advance(milliseconds(1001));
  limiter.GarbageCollect();
  EXPECT_EQ(limiter.size(), 0u);
  EXPECT_TRUE(limiter.Allow(std::vector<uint8_t>{198, 18, 1, 200}));
}

// Issue #15 defect 4: the unkeyed hash put the 65536 /64s of one /48 on 256 hash values, so
// the table degraded into 256 long chains. Keyed SipHash spreads them like random keys.
TEST(RateLimiterTest, Slash64sOfOneSlash48SpreadOverTheTable) {
  FakeClock clock;
  RateLimiter limiter(clock, 65536);
  std::vector<uint8_t> a(16, 0);
  a[0] = 0xfd;
  a[1] = 0x18;
  a[15] = 1;
  for (uint32_t i = 0; i < 65536; ++i) {
    a[6] = uint8_t(i >> 8);
    a[7] = uint8_t(i);
    ASSERT_TRUE(limiter.Allow(a)) << i;
  }
  ASSERT_EQ(limiter.size(), 65536u);
  // 65536 random keys in >= 65536 buckets: the fullest holds about 9 (balls into bins).
  EXPECT_LT(limiter.max_bucket_size(), 24u);
}

TEST(RateLimiterTest, BadAddressLengthIsRefused) {
  FakeClock clock;
  RateLimiter limiter(clock);
  EXPECT_FALSE(limiter.Allow(std::vector<uint8_t>{1, 2, 3}));
}

}  // namespace
}  // namespace tundra::proto
