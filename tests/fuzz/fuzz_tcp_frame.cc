// Fuzz target: the TCP transport's frame decoder (tundra/transport/tcp_frame.h). The input's
// first byte picks read sizes; the rest is the byte stream a TCP connection delivers. Every
// message handed out is one WireGuard could have sent, in the stream's order, and the result
// (messages and final error) does not depend on how the stream was split across reads.
#include <algorithm>
#include <cstring>
#include <vector>

#include "tests/fuzz/fuzz_fixture.h"
#include "tundra/transport/tcp_frame.h"

namespace {

struct Outcome {
  std::vector<std::vector<uint8_t>> messages;
  tundra::transport::FrameError error = tundra::transport::FrameError::kNone;
};

Outcome Decode(const uint8_t* data, size_t size, uint8_t split) {
  using namespace tundra::transport;
  FrameDecoder d;
  Outcome out;
  size_t off = 0, step = 0;
  while (off < size && out.error == FrameError::kNone) {
    d.Compact();
    tundra::MutableByteSpan tail = d.WritableTail();
    TUNDRA_CHECK(tail.size() >= kMaxFrameSize);
    const size_t want = split == 0 ? size : 1 + (size_t(split) * 7 + step++ * 13) % 977;
    const size_t n = std::min({want, tail.size(), size - off});
    std::memcpy(tail.data(), data + off, n);
    d.Commit(n);
    off += n;
    tundra::MutableByteSpan m;
    FrameDecoder::Status s;
    while ((s = d.Next(m)) == FrameDecoder::Status::kFrame) {
      TUNDRA_CHECK(CheckFrameMessage(m) == FrameError::kNone);
      out.messages.emplace_back(m.begin(), m.end());
    }
    if (s == FrameDecoder::Status::kError) {
      out.error = d.error();
      TUNDRA_CHECK(out.error != FrameError::kNone);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Outcome whole = Decode(data + 1, size - 1, 0);
  const Outcome split = Decode(data + 1, size - 1, data[0] == 0 ? 1 : data[0]);
  TUNDRA_CHECK(whole.messages == split.messages);
  // A stream cut short can only end in "need more": errors are the same once seen.
  TUNDRA_CHECK(whole.error == split.error);
  size_t consumed = 0;
  for (const auto& m : whole.messages) consumed += tundra::transport::kFrameHeaderSize + m.size();
  TUNDRA_CHECK(consumed <= size - 1);
  return 0;
}
