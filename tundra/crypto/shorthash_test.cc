#include "tundra/crypto/shorthash.h"

#include <gtest/gtest.h>

#include <vector>

namespace tundra::crypto {
namespace {

// The SipHash-2-4 paper's vector (Aumasson & Bernstein, appendix A): key 00..0f, message 00..0e.
TEST(ShortHashTest, SipHash24ReferenceVector) {
  ShortHashKey key;
  for (size_t i = 0; i < key.size(); ++i) key.data()[i] = uint8_t(i);
  std::vector<uint8_t> msg(15);
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = uint8_t(i);
  EXPECT_EQ(ShortHash(key, msg), 0xa129ca6149be45e5ull);
}

TEST(ShortHashTest, RandomKeysDifferAndChangeTheHash) {
  const ShortHashKey a = RandomShortHashKey();
  const ShortHashKey b = RandomShortHashKey();
  EXPECT_FALSE(a.Equals(b));
  const std::vector<uint8_t> msg = {6, 0xfd, 0x18, 0, 0, 0, 0, 0, 1};
  EXPECT_NE(ShortHash(a, msg), ShortHash(b, msg));
}

}  // namespace
}  // namespace tundra::crypto
