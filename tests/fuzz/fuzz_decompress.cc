// Fuzz target: decompression of a peer's packets (tundra/compress/codec.h). The first input
// byte picks the codec (lz4, zstd) and the bound (up to 9000 bytes); the rest is the framed
// plaintext a peer could send. Decompression never writes beyond the bound (a guard zone behind
// it stays untouched), reports a size within it, and whatever decompresses compresses again to
// something that decompresses to the same bytes.
#include <cstring>
#include <vector>

#include "tests/fuzz/fuzz_fixture.h"
#include "tundra/compress/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tundra;
  using namespace tundra::compress;
  if (size < 1) return 0;
  const Setting setting = (data[0] & 1) != 0 ? Setting{Algorithm::kZstd, kDefaultZstdLevel}
                                             : Setting{Algorithm::kLz4, 0};
  const size_t bound = 64 + size_t(data[0] >> 1) * 70;  // 64 .. 8954
  auto codec = Codec::Create(setting);
  TUNDRA_CHECK(codec.ok());
  constexpr size_t kGuard = 64;
  constexpr uint8_t kGuardByte = 0xA5;
  std::vector<uint8_t> out(bound + kGuard, kGuardByte);
  const ByteSpan framed(data + 1, size - 1);
  const auto d = (*codec)->Decompress(framed, MutableByteSpan(out.data(), bound));
  for (size_t i = bound; i < out.size(); ++i) TUNDRA_CHECK(out[i] == kGuardByte);
  if (d.error) return 0;
  TUNDRA_CHECK(d.size > 0 && d.size <= bound);
  TUNDRA_CHECK(Classify(framed) == Kind::kCompressed);
  std::vector<uint8_t> again(d.size);
  const size_t n = (*codec)->Compress(ByteSpan(out.data(), d.size), again);
  if (n == 0) return 0;  // not worth compressing: sent as it is
  std::vector<uint8_t> back(d.size);
  const auto d2 = (*codec)->Decompress(ByteSpan(again.data(), n), back);
  TUNDRA_CHECK(!d2.error && d2.size == d.size);
  TUNDRA_CHECK(std::memcmp(back.data(), out.data(), d.size) == 0);
  return 0;
}
