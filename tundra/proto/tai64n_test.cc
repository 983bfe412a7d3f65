#include "tundra/proto/tai64n.h"

#include <gtest/gtest.h>

#include "tundra/base/bytes.h"

namespace tundra::proto {
namespace {

WallTime Add(WallTime t, int64_t ns) {
  int64_t total = t.nsec + ns;
  return {t.sec + total / 1'000'000'000, total % 1'000'000'000};
}

// wireguard-go tai64n_test.go: from t0 = 123456789 ns, +10 ns, +10 us, +1 ms, +10 ms are not
// newer (the same 2^24 ns bucket); +20 ms is.
TEST(Tai64nTest, WhitenedResolution) {
  const WallTime t0{0, 123456789};
  const Tai64n base = Tai64nNow(t0);
  for (int64_t d : {int64_t{10}, int64_t{10'000}, int64_t{1'000'000}, int64_t{10'000'000}}) {
    EXPECT_FALSE(Tai64nIsNewer(Tai64nNow(Add(t0, d)), base)) << d;
  }
  EXPECT_TRUE(Tai64nIsNewer(Tai64nNow(Add(t0, 20'000'000)), base));
  EXPECT_FALSE(Tai64nIsNewer(base, base));
}

TEST(Tai64nTest, KnownValue) {
  // 2020-01-01T00:00:00Z (the derived handshake vector's timestamp).
  EXPECT_EQ(ToHex(Tai64nNow({1577836800, 0})), "400000005e0be10a00000000");
  // Nanoseconds are rounded down to a multiple of 2^24.
  Tai64n t = Tai64nNow({1577836800, 999'999'999});
  EXPECT_EQ(LoadBe32(t.data() + 8) % (1u << 24), 0u);
  EXPECT_EQ(LoadBe32(t.data() + 8), 999'999'999u & ~((1u << 24) - 1));
}

TEST(Tai64nTest, SecondsDominate) {
  EXPECT_TRUE(Tai64nIsNewer(Tai64nNow({100, 0}), Tai64nNow({99, 999'999'999})));
  EXPECT_FALSE(Tai64nIsNewer(Tai64nNow({99, 999'999'999}), Tai64nNow({100, 0})));
}

}  // namespace
}  // namespace tundra::proto
