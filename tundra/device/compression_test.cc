// CompressInPlace's "only when it pays on the wire" rule and InflateBuffers' carving.
#include "tundra/device/compression.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tundra/proto/constants.h"
#include "tundra/proto/keypair.h"

namespace tundra::device {
namespace {

constexpr size_t kHeader = 16;
constexpr size_t kMtu = 1420;

// `n` random bytes then `zeros` zero bytes: compresses by about `zeros`.
std::vector<uint8_t> Packet(size_t n, size_t zeros) {
  std::mt19937 rng(42);
  std::vector<uint8_t> p(kHeader + n + zeros);
  for (size_t i = 0; i < n; ++i) p[kHeader + i] = uint8_t(rng());
  return p;
}

TEST(CompressInPlaceTest, SavingsThatThePaddingEatsAreNotTaken) {
  auto codec = compress::Codec::Create({compress::Algorithm::kLz4, 0});
  ASSERT_TRUE(codec.ok());
  int eaten = 0, taken = 0;
  for (size_t zeros = 8; zeros < 64; ++zeros) {
    auto p = Packet(400, zeros);
    const size_t len = p.size() - kHeader;
    std::vector<uint8_t> out(len);
    const size_t n = (*codec)->Compress(ByteSpan(p.data() + kHeader, len), MutableByteSpan(out));
    const size_t got = CompressInPlace(**codec, MutableByteSpan(p), kHeader, len, kMtu);
    if (n != 0 && proto::PaddedLength(n, kMtu) >= proto::PaddedLength(len, kMtu)) {
      ++eaten;  // smaller, but not on the wire
      EXPECT_EQ(got, len) << zeros;
    } else if (n != 0) {
      ++taken;
      EXPECT_EQ(got, n) << zeros;
      EXPECT_LT(proto::PaddedLength(got, kMtu), proto::PaddedLength(len, kMtu));
    }
  }
  // The sweep met both cases (else it proves nothing).
  EXPECT_GT(eaten, 0);
  EXPECT_GT(taken, 0);
}

TEST(InflateBuffersTest, SmallPacketsShareAChunkAndLargeOnesGetRoom) {
  InflateBuffers b;
  MutableByteSpan first = b.Next(kHeader, kMaxDecompressed);
  ASSERT_EQ(first.size(), kHeader + kMaxDecompressed);
  b.Commit(kHeader + 100);
  MutableByteSpan second = b.Next(kHeader, kMaxDecompressed);
  EXPECT_EQ(second.data(), first.data() + kHeader + 100);  // right behind the first
  // Fill the rest of the chunk with full-size packets: the next one moves to a new chunk and
  // never overlaps an earlier buffer.
  std::vector<MutableByteSpan> all = {first.first(kHeader + 100)};
  for (int i = 0; i < 10; ++i) {
    MutableByteSpan s = b.Next(kHeader, kMaxDecompressed);
    ASSERT_EQ(s.size(), kHeader + kMaxDecompressed);
    for (const MutableByteSpan& o : all) {
      EXPECT_TRUE(s.data() >= o.data() + o.size() || s.data() + s.size() <= o.data());
    }
    b.Commit(s.size());
    all.push_back(s);
  }
  // Take keeps what it gives: two in a row never overlap.
  MutableByteSpan t1 = b.Take(kHeader, 100), t2 = b.Take(kHeader, 100);
  EXPECT_EQ(t2.data(), t1.data() + t1.size());
  b.Reset();
  EXPECT_EQ(b.Next(kHeader, 10).data(), first.data());  // reused
}

}  // namespace
}  // namespace tundra::device
