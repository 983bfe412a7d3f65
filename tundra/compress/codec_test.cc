#include "tundra/compress/codec.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace tundra::compress {
namespace {

// An IPv4-looking packet whose payload is `payload_kind`: text repeats (compressible), or
// random bytes (not).
std::vector<uint8_t> Packet(size_t size, bool compressible, uint64_t seed = 1) {
  std::vector<uint8_t> p(size);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < size; ++i) {
    p[i] =
        compressible ? uint8_t("GET /index.html HTTP/1.1\r\nHost: x\r\n"[i % 36]) : uint8_t(rng());
  }
  p[0] = 0x45;
  return p;
}

Setting Lz4() { return *ParseSetting("lz4"); }
Setting Zstd(int level = kDefaultZstdLevel) { return Setting{Algorithm::kZstd, level}; }

TEST(CompressSettingTest, ParsesAndFormats) {
  struct Case {
    const char* text;
    bool ok;
    Setting want;
    const char* formatted;
  } cases[] = {
      {"none", true, {}, "none"},
      {"off", true, {}, "none"},
      {"lz4", true, {Algorithm::kLz4, 0}, "lz4"},
      {"zstd", true, {Algorithm::kZstd, 1}, "zstd"},
      {"zstd:3", true, {Algorithm::kZstd, 3}, "zstd:3"},
      {"zstd:19", true, {Algorithm::kZstd, 19}, "zstd:19"},
      {"zstd:0", false, {}, ""},
      {"zstd:20", false, {}, ""},
      {"zstd:", false, {}, ""},
      {"zstd:3x", false, {}, ""},
      {"gzip", false, {}, ""},
      {"", false, {}, ""},
  };
  for (const Case& c : cases) {
    auto s = ParseSetting(c.text);
    ASSERT_EQ(s.ok(), c.ok) << c.text;
    if (!c.ok) {
      EXPECT_NE(s.error().message().find(c.text), std::string::npos) << s.error().message();
      continue;
    }
    EXPECT_EQ(*s, c.want) << c.text;
    EXPECT_EQ(FormatSetting(*s), c.formatted);
  }
}

TEST(CompressTest, ClassifiesTheFirstByte) {
  const uint8_t v4[] = {0x45}, v6[] = {0x60}, lz4[] = {0x10}, zstd[] = {0x11}, hello[] = {0x1f},
                odd[] = {0x12}, other[] = {0x00};
  EXPECT_EQ(Classify(v4), Kind::kIp);
  EXPECT_EQ(Classify(v6), Kind::kIp);
  EXPECT_EQ(Classify(lz4), Kind::kCompressed);
  EXPECT_EQ(Classify(zstd), Kind::kCompressed);
  EXPECT_EQ(Classify(odd), Kind::kCompressed);
  EXPECT_EQ(Classify(hello), Kind::kHello);
  EXPECT_EQ(Classify(other), Kind::kOther);
  EXPECT_EQ(Classify({}), Kind::kOther);
}

TEST(CompressTest, HelloRoundTrip) {
  uint8_t buf[kHelloSize];
  ASSERT_EQ(WriteHello(kHelloLz4 | kHelloZstd, buf), kHelloSize);
  EXPECT_EQ(Classify(buf), Kind::kHello);
  EXPECT_EQ(ReadHello(buf), uint8_t(kHelloLz4 | kHelloZstd));
  const uint8_t ip[] = {0x45, 0x00};
  EXPECT_FALSE(ReadHello(ip).has_value());
}

class CodecTest : public ::testing::TestWithParam<Setting> {};

TEST_P(CodecTest, CompressibleRoundTripsSmaller) {
  auto codec = Codec::Create(GetParam()).value();
  for (size_t size : {64, 512, 1420, 9000, 65535}) {
    const auto p = Packet(size, true);
    std::vector<uint8_t> framed(p.size()), back(kMaxPacket);
    const size_t n = codec->Compress(p, framed);
    // A zstd frame's own header (magic, frame header, block header) outweighs what 64 bytes
    // save: sent as is.
    if (size == 64 && GetParam().algorithm == Algorithm::kZstd) {
      EXPECT_EQ(n, 0u);
      continue;
    }
    ASSERT_GT(n, 0u) << size;
    EXPECT_LT(n, size);
    framed.resize(n);
    framed.resize(n + 15, 0);  // WireGuard's padding behind it changes nothing
    EXPECT_EQ(Classify(framed), Kind::kCompressed);
    auto d = codec->Decompress(framed, back);
    ASSERT_FALSE(d.error.has_value()) << DecodeErrorName(*d.error);
    ASSERT_EQ(d.size, size);
    back.resize(d.size);
    EXPECT_EQ(back, p);
  }
}

TEST_P(CodecTest, IncompressibleIsSentAsIs) {
  auto codec = Codec::Create(GetParam()).value();
  for (size_t size : {5, 64, 1420, 9000}) {
    const auto p = Packet(size, false, size);
    std::vector<uint8_t> framed(p.size());
    EXPECT_EQ(codec->Compress(p, framed), 0u) << size;
  }
  // Too small to gain anything at all.
  const uint8_t tiny[] = {0x45, 0, 0, 0};
  std::vector<uint8_t> out(4);
  EXPECT_EQ(codec->Compress(tiny, out), 0u);
}

// A frame that decompresses beyond the bound (the interface's MTU) is a bomb: rejected, and
// nothing is written past the bound.
TEST_P(CodecTest, BombIsRejectedWithinTheBound) {
  auto codec = Codec::Create(GetParam()).value();
  const auto big = Packet(60000, true);  // compresses to a few hundred bytes
  std::vector<uint8_t> framed(big.size());
  const size_t n = codec->Compress(big, framed);
  ASSERT_GT(n, 0u);
  ASSERT_LT(n, 2000u);
  framed.resize(n);
  std::vector<uint8_t> out(1500 + 64, 0xAA);  // bound 1500, then a guard zone
  auto d = codec->Decompress(framed, std::span(out).first(1500));
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(*d.error, DecodeError::kBomb);
  for (size_t i = 1500; i < out.size(); ++i) ASSERT_EQ(out[i], 0xAA) << "wrote past the bound";
}

TEST_P(CodecTest, MalformedFramesAreCountedNotCrashes) {
  auto codec = Codec::Create(GetParam()).value();
  const uint8_t marker = GetParam().algorithm == Algorithm::kLz4 ? kMarkerLz4 : kMarkerZstd;
  const uint8_t other = GetParam().algorithm == Algorithm::kLz4 ? kMarkerZstd : kMarkerLz4;
  std::vector<uint8_t> out(1500);
  struct Case {
    std::vector<uint8_t> frame;
    DecodeError want;
  } cases[] = {
      {{marker}, DecodeError::kTruncated},
      {{marker, 0}, DecodeError::kTruncated},
      {{marker, 0, 0}, DecodeError::kTruncated},            // zero length
      {{marker, 0, 10, 1, 2, 3}, DecodeError::kTruncated},  // says 10, holds 3
      {{0x12, 0, 1, 0}, DecodeError::kUnknown},
      {{other, 0, 1, 0}, DecodeError::kNotEnabled},
      {{marker, 0, 4, 0xff, 0xff, 0xff, 0xff}, DecodeError::kCorrupt},
  };
  for (const Case& c : cases) {
    auto d = codec->Decompress(c.frame, out);
    ASSERT_TRUE(d.error.has_value());
    EXPECT_EQ(*d.error, c.want) << DecodeErrorName(*d.error);
  }
  // Random garbage behind a valid header never crashes and never claims success with a size
  // beyond the bound.
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> f(3 + rng() % 200);
    for (auto& b : f) b = uint8_t(rng());
    f[0] = marker;
    const size_t len = f.size() - 3;
    f[1] = uint8_t(len >> 8);
    f[2] = uint8_t(len);
    auto d = codec->Decompress(f, out);
    if (!d.error) {
      EXPECT_LE(d.size, out.size());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Algorithms, CodecTest,
                         ::testing::Values(Setting{Algorithm::kLz4, 0}, Zstd(), Zstd(9)),
                         [](const ::testing::TestParamInfo<Setting>& p) {
                           std::string n = FormatSetting(p.param);
                           for (char& ch : n) {
                             if (ch == ':') ch = '_';
                           }
                           return n;
                         });

TEST(CodecTest, NoneNeverCompresses) {
  auto codec = Codec::Create(Setting{}).value();
  const auto p = Packet(1420, true);
  std::vector<uint8_t> out(p.size());
  EXPECT_EQ(codec->Compress(p, out), 0u);
  (void)Lz4();
}

}  // namespace
}  // namespace tundra::compress
