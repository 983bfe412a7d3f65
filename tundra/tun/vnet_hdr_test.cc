#include "tundra/tun/vnet_hdr.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <random>
#include <vector>

namespace tundra::tun {
namespace {

TEST(VnetHdrTest, EncodeDecodeRoundTripNativeOrder) {
  const VirtioNetHdr h{kVirtioNetHdrFNeedsCsum, kVirtioNetHdrGsoTcpV4, 40, 1460, 20, 16};
  uint8_t buf[kVirtioNetHdrSize];
  EncodeVirtioNetHdr(h, buf);
  EXPECT_EQ(buf[0], 1);
  EXPECT_EQ(buf[1], 1);
  uint16_t gso_size;
  std::memcpy(&gso_size, buf + 4, 2);
  EXPECT_EQ(gso_size, 1460);
  EXPECT_EQ(DecodeVirtioNetHdr(buf), h);
}

TEST(ChecksumTest, Rfc1071Example) {
  // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2.
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ChecksumFold(ChecksumAdd(data)), 0xddf2);
  EXPECT_EQ(Checksum(data), 0x220d);
}

// The word-at-a-time sum against RFC 1071 done one 16-bit word at a time, on random buffers of
// every length class (odd tails, < 8, < 32, up to 64 KiB) and random starting sums.
TEST(ChecksumTest, MatchesNaiveSumOnRandomBuffers) {
  std::mt19937 rng(7);
  auto naive = [](const std::vector<uint8_t>& d, uint64_t sum) {
    for (size_t i = 0; i + 1 < d.size(); i += 2) sum += uint64_t(d[i]) << 8 | d[i + 1];
    if (d.size() % 2 == 1) sum += uint64_t(d.back()) << 8;
    return ChecksumFold(sum);
  };
  for (int round = 0; round < 2000; ++round) {
    size_t len = round < 100 ? size_t(round) : rng() % (round % 10 == 0 ? 65536 : 2000);
    std::vector<uint8_t> d(len);
    const bool ones = round % 7 == 0;  // all 0xff: the most carries
    for (auto& b : d) b = ones ? 0xff : uint8_t(rng());
    const uint64_t start = rng() % 3 == 0 ? 0 : rng() & 0xffffff;
    ASSERT_EQ(ChecksumFold(ChecksumAdd(d, start)), naive(d, start)) << "len " << len;
  }
}

TEST(ChecksumTest, OddLengthPadsWithZero) {
  const uint8_t odd[] = {0x12, 0x34, 0x56};
  const uint8_t even[] = {0x12, 0x34, 0x56, 0x00};
  EXPECT_EQ(Checksum(odd), Checksum(even));
}

TEST(ChecksumTest, Ipv4HeaderFromTheWild) {
  // A real IPv4 header (checksum 0xb861) with the field zeroed.
  uint8_t hdr[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(Checksum(hdr), 0xb861);
  hdr[10] = 0xb8;
  hdr[11] = 0x61;
  EXPECT_EQ(Checksum(hdr), 0);  // a valid header sums to 0xffff
}

// An IPv4/UDP packet 198.19.0.1:1000 -> 198.19.0.2:2000 with `payload`.
std::vector<uint8_t> UdpPacket(const std::vector<uint8_t>& payload) {
  const size_t total = 28 + payload.size();
  const size_t udp_len = 8 + payload.size();
  uint8_t h[28] = {0x45,
                   0,
                   uint8_t(total >> 8),
                   uint8_t(total),
                   0,
                   0,
                   0,
                   0,
                   64,
                   17,
                   0,
                   0,
                   198,
                   19,
                   0,
                   1,
                   198,
                   19,
                   0,
                   2,
                   1000 >> 8,
                   1000 & 0xff,
                   2000 >> 8,
                   2000 & 0xff,
                   uint8_t(udp_len >> 8),
                   uint8_t(udp_len),
                   0,
                   0};
  std::vector<uint8_t> p(total);
  std::copy(std::begin(h), std::end(h), p.begin());
  std::copy(payload.begin(), payload.end(), p.begin() + 28);
  return p;
}

TEST(ChecksumTest, CompleteChecksumMatchesFullComputation) {
  std::vector<uint8_t> payload(333);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(i * 7 + 3);
  std::vector<uint8_t> packet = UdpPacket(payload);
  const ByteSpan src(&packet[12], 4), dst(&packet[16], 4);
  const uint32_t l4_len = uint32_t(packet.size() - 20);

  // Reference: the full checksum over pseudo header + UDP header + payload, field zero.
  uint16_t expected = Checksum(ByteSpan(packet).subspan(20), PseudoHeaderSum(src, dst, 17, l4_len));
  if (expected == 0) expected = 0xffff;

  // CHECKSUM_PARTIAL as the kernel hands it over: the folded pseudo-header sum in the field.
  StoreBe16(&packet[26], ChecksumFold(PseudoHeaderSum(src, dst, 17, l4_len)));
  ASSERT_TRUE(CompleteChecksum(packet, 20, 6));
  EXPECT_EQ(LoadBe16(&packet[26]), expected);
  // And the receiver's view: the whole L4 sum including the pseudo header verifies.
  EXPECT_EQ(Checksum(ByteSpan(packet).subspan(20), PseudoHeaderSum(src, dst, 17, l4_len)), 0);
}

TEST(ChecksumTest, CompleteChecksumRejectsOutOfBounds) {
  std::vector<uint8_t> packet(30, 0);
  EXPECT_FALSE(CompleteChecksum(packet, 20, 9));  // field at 29..30: past the end
  EXPECT_FALSE(CompleteChecksum(packet, 30, 0));
  EXPECT_TRUE(CompleteChecksum(packet, 20, 8));
}

TEST(VnetHdrTest, ProcessReadActions) {
  std::vector<uint8_t> packet = UdpPacket({1, 2, 3});
  VirtioNetHdr none;
  EXPECT_EQ(ProcessVnetRead(none, packet), VnetReadAction::kDeliver);

  VirtioNetHdr gso{kVirtioNetHdrFNeedsCsum, kVirtioNetHdrGsoUdpL4, 28, 1000, 20, 6};
  EXPECT_EQ(ProcessVnetRead(gso, packet), VnetReadAction::kSuperPacket);
  gso.gso_type = kVirtioNetHdrGsoTcpV4 | kVirtioNetHdrGsoEcn;
  EXPECT_EQ(ProcessVnetRead(gso, packet), VnetReadAction::kSuperPacket);

  VirtioNetHdr bad{kVirtioNetHdrFNeedsCsum, kVirtioNetHdrGsoNone, 0, 0, 20, 200};
  EXPECT_EQ(ProcessVnetRead(bad, packet), VnetReadAction::kBadHeader);

  VirtioNetHdr partial{kVirtioNetHdrFNeedsCsum, kVirtioNetHdrGsoNone, 0, 0, 20, 6};
  EXPECT_EQ(ProcessVnetRead(partial, packet), VnetReadAction::kDeliver);
  EXPECT_NE(LoadBe16(&packet[26]), 0);  // filled in
  // A DATA_VALID header leaves the packet alone.
  std::vector<uint8_t> copy = packet;
  VirtioNetHdr valid{kVirtioNetHdrFDataValid, kVirtioNetHdrGsoNone, 0, 0, 0, 0};
  EXPECT_EQ(ProcessVnetRead(valid, packet), VnetReadAction::kDeliver);
  EXPECT_EQ(copy, packet);
}

}  // namespace
}  // namespace tundra::tun
