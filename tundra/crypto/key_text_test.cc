#include "tundra/crypto/key_text.h"

#include <gtest/gtest.h>

#include "tundra/crypto/random.h"

namespace tundra::crypto {
namespace {

TEST(KeyTest, KnownEncodings) {
  Key32 zero{};
  EXPECT_EQ(KeyToBase64(zero), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  // Low-order point from netns.sh: e0eb7a7c... <-> 4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=
  auto k = KeyFromBase64("4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(KeyToHex(*k), "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
  k = KeyFromBase64("7P///////////////////////////////////////38=");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(KeyToHex(*k), "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
}

TEST(KeyTest, RoundTripRandom) {
  for (int i = 0; i < 200; ++i) {
    Key32 key;
    crypto::RandomBytes(key);
    auto b = KeyFromBase64(KeyToBase64(key));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(*b, key);
    auto h = KeyFromHex(KeyToHex(key));
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(*h, key);
  }
}

TEST(KeyTest, StrictDecoding) {
  EXPECT_FALSE(KeyFromBase64("").ok());
  EXPECT_FALSE(KeyFromBase64("AAAA").ok());
  EXPECT_FALSE(KeyFromBase64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").ok());  // no '='
  EXPECT_FALSE(KeyFromBase64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*=").ok());
  EXPECT_FALSE(KeyFromBase64(" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").ok());
  // 'B' as the last character sets a trailing bit: not canonical.
  auto r = KeyFromBase64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("canonical"), std::string::npos);
  EXPECT_FALSE(KeyFromHex("00").ok());
  EXPECT_FALSE(KeyFromHex(std::string(64, 'g')).ok());
}

}  // namespace
}  // namespace tundra::crypto
