#include "tundra/transport/tcp_frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace tundra::transport {
namespace {

std::vector<uint8_t> Message(uint32_t type, size_t size, uint8_t fill = 0xab) {
  std::vector<uint8_t> m(size, fill);
  if (size >= 4) {
    m[0] = uint8_t(type);
    m[1] = m[2] = m[3] = 0;
  }
  return m;
}

std::vector<uint8_t> Frame(const std::vector<uint8_t>& m) {
  std::vector<uint8_t> f(kFrameHeaderSize);
  EncodeFrameHeader(m.size(), f.data());
  f.insert(f.end(), m.begin(), m.end());
  return f;
}

std::vector<uint8_t> Header(uint32_t length) {
  std::vector<uint8_t> h(kFrameHeaderSize);
  EncodeFrameHeader(length, h.data());
  return h;
}

// Feeds `bytes` in chunks of `chunk` and collects the messages (copies) until an error.
struct Fed {
  std::vector<std::vector<uint8_t>> messages;
  FrameError error = FrameError::kNone;
};
Fed Feed(const std::vector<uint8_t>& bytes, size_t chunk) {
  FrameDecoder d;
  Fed out;
  size_t off = 0;
  while (off < bytes.size() && out.error == FrameError::kNone) {
    d.Compact();
    MutableByteSpan tail = d.WritableTail();
    EXPECT_GE(tail.size(), kMaxFrameSize);  // a whole frame always fits after Compact
    const size_t n = std::min({chunk, tail.size(), bytes.size() - off});
    std::memcpy(tail.data(), bytes.data() + off, n);
    d.Commit(n);
    off += n;
    MutableByteSpan m;
    FrameDecoder::Status s;
    while ((s = d.Next(m)) == FrameDecoder::Status::kFrame)
      out.messages.emplace_back(m.begin(), m.end());
    if (s == FrameDecoder::Status::kError) out.error = d.error();
  }
  return out;
}

TEST(TcpFrameTest, HeaderIsBigEndianLength) {
  uint8_t h[4];
  EncodeFrameHeader(0x0102a3, h);
  EXPECT_EQ(h[0], 0x00);
  EXPECT_EQ(h[1], 0x01);
  EXPECT_EQ(h[2], 0x02);
  EXPECT_EQ(h[3], 0xa3);
}

TEST(TcpFrameTest, LengthBounds) {
  EXPECT_EQ(CheckFrameLength(kMinFrameMessage - 1), FrameError::kUndersize);
  EXPECT_EQ(CheckFrameLength(kMinFrameMessage), FrameError::kNone);
  EXPECT_EQ(CheckFrameLength(kMaxFrameMessage), FrameError::kNone);
  EXPECT_EQ(CheckFrameLength(kMaxFrameMessage + 1), FrameError::kOversize);
  EXPECT_EQ(CheckFrameLength(0), FrameError::kUndersize);
  EXPECT_EQ(CheckFrameLength(UINT32_MAX), FrameError::kOversize);
  EXPECT_EQ(kMinFrameMessage, 32u);
  EXPECT_EQ(kMaxFrameMessage, 65535u + 32 + 15);
}

TEST(TcpFrameTest, EveryTypeAtItsSizeAndNotOtherwise) {
  EXPECT_EQ(CheckFrameMessage(Message(1, 148)), FrameError::kNone);
  EXPECT_EQ(CheckFrameMessage(Message(2, 92)), FrameError::kNone);
  EXPECT_EQ(CheckFrameMessage(Message(3, 64)), FrameError::kNone);
  EXPECT_EQ(CheckFrameMessage(Message(4, 32)), FrameError::kNone);
  EXPECT_EQ(CheckFrameMessage(Message(4, kMaxFrameMessage)), FrameError::kNone);
  EXPECT_EQ(CheckFrameMessage(Message(1, 149)), FrameError::kBadSize);
  EXPECT_EQ(CheckFrameMessage(Message(2, 148)), FrameError::kBadSize);
  EXPECT_EQ(CheckFrameMessage(Message(3, 92)), FrameError::kBadSize);
  EXPECT_EQ(CheckFrameMessage(Message(5, 64)), FrameError::kBadType);
  EXPECT_EQ(CheckFrameMessage(Message(0, 64)), FrameError::kBadType);
  auto reserved = Message(4, 64);
  reserved[2] = 1;
  EXPECT_EQ(CheckFrameMessage(reserved), FrameError::kBadType);
  EXPECT_EQ(CheckFrameMessage(Message(4, kMaxFrameMessage + 1)), FrameError::kOversize);
}

TEST(TcpFrameTest, FramesSplitAcrossReadsAtEveryChunkSize) {
  std::vector<uint8_t> stream;
  std::vector<std::vector<uint8_t>> want = {Message(1, 148, 1),  Message(2, 92, 2),
                                            Message(3, 64, 3),   Message(4, 32, 4),
                                            Message(4, 1452, 5), Message(4, kMaxFrameMessage, 6)};
  for (const auto& m : want) {
    auto f = Frame(m);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{7}, size_t{100},
                       size_t{4096}, kMaxFrameSize, stream.size()}) {
    Fed got = Feed(stream, chunk);
    EXPECT_EQ(got.error, FrameError::kNone) << chunk;
    EXPECT_EQ(got.messages, want) << "chunk " << chunk;
  }
}

TEST(TcpFrameTest, TruncatedStreamWaitsAndHandsOutNothing) {
  auto f = Frame(Message(1, 148));
  for (size_t cut = 0; cut < f.size(); ++cut) {
    Fed got = Feed(std::vector<uint8_t>(f.begin(), f.begin() + cut), 16);
    EXPECT_TRUE(got.messages.empty()) << cut;
    EXPECT_EQ(got.error, FrameError::kNone) << cut;
  }
}

TEST(TcpFrameTest, OversizeUndersizeAndGarbageStopTheStream) {
  auto good = Frame(Message(4, 64));
  struct Case {
    std::vector<uint8_t> bad;
    FrameError want;
  };
  std::vector<Case> cases = {
      {Header(kMaxFrameMessage + 1), FrameError::kOversize},
      {Header(0x7fffffff), FrameError::kOversize},
      {Header(kMinFrameMessage - 1), FrameError::kUndersize},
      {Header(0), FrameError::kUndersize},
      {Frame(Message(9, 64)), FrameError::kBadType},
      {Frame(Message(1, 92)), FrameError::kBadSize},
      {{'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1'},
       FrameError::kOversize},
  };
  // Garbage after the length: the type word fails before the declared length arrives.
  auto early = Header(60000);
  early.insert(early.end(), {7, 0, 0, 0});
  cases.push_back({early, FrameError::kBadType});
  for (const Case& c : cases) {
    std::vector<uint8_t> stream = good;
    stream.insert(stream.end(), c.bad.begin(), c.bad.end());
    stream.insert(stream.end(), good.begin(), good.end());  // never reached
    for (size_t chunk : {size_t{1}, size_t{3}, size_t{4096}}) {
      Fed got = Feed(stream, chunk);
      EXPECT_EQ(got.error, c.want) << FrameErrorName(c.want) << " chunk " << chunk;
      EXPECT_EQ(got.messages.size(), 1u) << FrameErrorName(c.want) << " chunk " << chunk;
    }
  }
}

TEST(TcpFrameTest, RandomGarbageNeverCrashesAndNeverYieldsABadMessage) {
  std::mt19937 rng(12);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> bytes(rng() % 300);
    for (auto& b : bytes) b = uint8_t(rng());
    if (round % 3 == 0 && bytes.size() >= 4) EncodeFrameHeader(rng() % 200, bytes.data());
    Fed got = Feed(bytes, 1 + rng() % 64);
    for (const auto& m : got.messages) EXPECT_EQ(CheckFrameMessage(m), FrameError::kNone);
  }
}

TEST(TcpFrameTest, ErrorIsSticky) {
  FrameDecoder d;
  auto bad = Header(1);
  std::memcpy(d.WritableTail().data(), bad.data(), bad.size());
  d.Commit(bad.size());
  MutableByteSpan m;
  EXPECT_EQ(d.Next(m), FrameDecoder::Status::kError);
  EXPECT_EQ(d.Next(m), FrameDecoder::Status::kError);
  EXPECT_EQ(d.error(), FrameError::kUndersize);
}

}  // namespace
}  // namespace tundra::transport
