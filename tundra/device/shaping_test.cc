#include "tundra/device/shaping.h"

#include <gtest/gtest.h>

namespace tundra::device {
namespace {

TEST(ShapingTest, SpeedTexts) {
  struct Case {
    const char* text;
    bool ok;
    uint32_t in, out;
  };
  const Case cases[] = {
      {"10000", true, 10000, 10000},
      {"10000:2000", true, 10000, 2000},
      {"0:512", true, 0, 512},
      {"100000000", true, kMaxSpeedKbit, kMaxSpeedKbit},
      {"100000001", false, 0, 0},
      {"", false, 0, 0},
      {":", false, 0, 0},
      {"10:", false, 0, 0},
      {":10", false, 0, 0},
      {"10:20:30", false, 0, 0},
      {"-1", false, 0, 0},
      {"1k", false, 0, 0},
      {" 10", false, 0, 0},
  };
  for (const Case& c : cases) {
    Speed s{7, 7};
    EXPECT_EQ(ParseSpeed(c.text, s), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(s, (Speed{c.in, c.out})) << c.text;
      Speed again;
      EXPECT_TRUE(ParseSpeed(SpeedText(s), again));
      EXPECT_EQ(again, s);
    } else {
      EXPECT_EQ(s, (Speed{7, 7})) << c.text << ": unchanged on error";
    }
  }
}

TEST(ShapingTest, BurstTexts) {
  uint32_t b = 0;
  EXPECT_TRUE(ParseBurst("65536", b));
  EXPECT_EQ(b, 65536u);
  EXPECT_TRUE(ParseBurst("0", b));
  EXPECT_EQ(b, 0u);
  EXPECT_TRUE(ParseBurst("1073741824", b));
  EXPECT_FALSE(ParseBurst("1073741825", b));
  EXPECT_FALSE(ParseBurst("64k", b));
  EXPECT_FALSE(ParseBurst("", b));
}

}  // namespace
}  // namespace tundra::device
