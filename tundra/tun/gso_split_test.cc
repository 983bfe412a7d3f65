#include "tundra/tun/gso_split.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tundra/tun/offload_testing.h"

namespace tundra::tun {
namespace {

using testing::BuildPacket;
using testing::ChecksumsValid;
using testing::KernelHeader;
using testing::PacketSpec;

std::vector<std::vector<uint8_t>> Split(const VirtioNetHdr& h, std::vector<uint8_t> packet) {
  auto gso = ParseGsoSuperPacket(h, packet);
  EXPECT_TRUE(gso.has_value());
  if (!gso) return {};
  std::vector<std::vector<uint8_t>> out(gso->segments);
  // Every segment but the first into its own buffer, then the first in place, as LinuxTun does.
  for (size_t i = gso->segments; i-- > 1;) {
    out[i].resize(gso->SegmentLength(i));
    EXPECT_EQ(WriteGsoSegment(*gso, packet, i, out[i].data()), out[i].size());
  }
  const size_t len0 = WriteGsoSegment(*gso, packet, 0, packet.data());
  out[0].assign(packet.begin(), packet.begin() + len0);
  return out;
}

struct Case {
  bool v6;
  bool tcp;
  size_t segment_len;  // wireguard-go's handleVirtioRead vectors: 200 bytes in 2 x 100
};

TEST(GsoSplitTest, WireguardGoVectorsSplitIntoTwo) {
  for (const Case& c : {Case{false, true, 140}, Case{true, true, 160}, Case{false, false, 128},
                        Case{true, false, 148}}) {
    PacketSpec spec;
    spec.v6 = c.v6;
    spec.tcp = c.tcp;
    spec.tcp_flags = 0x18;
    spec.payload = 200;
    const auto segs = Split(KernelHeader(spec, 100), BuildPacket(spec));
    ASSERT_EQ(segs.size(), 2u);
    for (const auto& s : segs) {
      EXPECT_EQ(s.size(), c.segment_len);
      EXPECT_TRUE(ChecksumsValid(s)) << "v6=" << c.v6 << " tcp=" << c.tcp;
    }
  }
}

// Splitting reproduces exactly the packets a sender would have built one by one.
TEST(GsoSplitTest, SegmentsEqualIndividuallyBuiltPackets) {
  for (bool v6 : {false, true}) {
    for (bool tcp : {true, false}) {
      PacketSpec super;
      super.v6 = v6;
      super.tcp = tcp;
      super.tcp_flags = 0x19;
      super.seq = 0xffffff00;
      super.tcp_options = {1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9};
      super.ip_id = 0xfffe;
      super.payload = 250;
      super.fill = 3;
      const auto segs = Split(KernelHeader(super, 100), BuildPacket(super));
      ASSERT_EQ(segs.size(), 3u);
      for (size_t i = 0; i < 3; ++i) {
        PacketSpec one = super;
        one.seq = super.seq + uint32_t(i * 100);  // wraps past 2^32
        one.ip_id = uint16_t(super.ip_id + i);    // wraps past 0xffff
        one.payload = i < 2 ? 100 : 50;
        one.fill = uint8_t(super.fill + i * 100);
        if (i < 2) one.tcp_flags = 0x10;  // FIN and PSH only on the last segment
        EXPECT_EQ(segs[i], BuildPacket(one)) << "v6=" << v6 << " tcp=" << tcp << " seg " << i;
      }
    }
  }
}

TEST(GsoSplitTest, PayloadNoLargerThanGsoSizeIsOnePacketWithItsChecksumCompleted) {
  PacketSpec spec;
  spec.payload = 80;
  std::vector<uint8_t> packet = BuildPacket(spec);
  const std::vector<uint8_t> expected = packet;
  packet[36] ^= 0x5a;  // the kernel leaves only the pseudo-header sum there
  const auto segs = Split(KernelHeader(spec, 100), packet);
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0], expected);
}

TEST(GsoSplitTest, UdpChecksumOfZeroIsSentAsAllOnes) {
  // Choose the last payload word so that the segment's checksum computes to 0.
  PacketSpec spec;
  spec.tcp = false;
  spec.payload = 100;
  std::vector<uint8_t> packet = BuildPacket(spec);
  packet[126] = packet[127] = 0;
  StoreBe16(&packet[26], 0);
  const uint64_t pseudo = PseudoHeaderSum(ByteSpan(&packet[12], 4), ByteSpan(&packet[16], 4), 17,
                                          uint32_t(packet.size() - 20));
  StoreBe16(&packet[126], Checksum(ByteSpan(packet).subspan(20), pseudo));
  const auto segs = Split(KernelHeader(spec, 100), packet);
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(LoadBe16(&segs[0][26]), 0xffff);
  EXPECT_TRUE(ChecksumsValid(segs[0]));
}

TEST(GsoSplitTest, RejectsInconsistentHeaders) {
  PacketSpec spec;
  spec.payload = 300;
  const std::vector<uint8_t> packet = BuildPacket(spec);
  const VirtioNetHdr good = KernelHeader(spec, 100);
  auto rejected = [&](VirtioNetHdr h, ByteSpan p, GsoError want) {
    GsoError e{};
    const bool ok = ParseGsoSuperPacket(h, p, &e).has_value();
    return !ok && e == want;
  };
  ASSERT_TRUE(ParseGsoSuperPacket(good, packet).has_value());
  VirtioNetHdr h = good;
  h.gso_type = kVirtioNetHdrGsoTcpV6;  // IPv6 type on an IPv4 packet
  EXPECT_TRUE(rejected(h, packet, GsoError::kBadHeader));
  h = good;
  h.gso_type |= kVirtioNetHdrGsoEcn;
  EXPECT_TRUE(rejected(h, packet, GsoError::kUnsupportedType));
  h = good;
  h.gso_type = kVirtioNetHdrGsoUdp;  // UFO is never handed to user space
  EXPECT_TRUE(rejected(h, packet, GsoError::kUnsupportedType));
  h = good;
  h.gso_size = 0;
  EXPECT_TRUE(rejected(h, packet, GsoError::kBadHeader));
  h = good;
  h.csum_start = 24;  // not the IPv4 header length
  EXPECT_TRUE(rejected(h, packet, GsoError::kBadHeader));
  h = good;
  h.csum_offset = 6;  // UDP's offset on a TCP packet
  EXPECT_TRUE(rejected(h, packet, GsoError::kBadHeader));
  EXPECT_TRUE(rejected(good, ByteSpan(packet).first(30), GsoError::kBadHeader));
  std::vector<uint8_t> bad_doff = packet;
  bad_doff[32] = 0x40;  // TCP data offset 16 bytes
  EXPECT_TRUE(rejected(good, bad_doff, GsoError::kBadHeader));
  std::vector<uint8_t> not_ip = packet;
  not_ip[0] = 0x55;
  EXPECT_TRUE(rejected(good, not_ip, GsoError::kBadHeader));
}

// Random headers over random bytes: parsing either refuses or yields segments that stay inside
// their buffers (run under ASan in CI's sanitizer builds).
TEST(GsoSplitTest, RandomHeadersNeverOverrun) {
  std::mt19937 rng(11);
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> packet(rng() % 400);
    for (auto& b : packet) b = uint8_t(rng());
    if (!packet.empty()) packet[0] = uint8_t((rng() % 2 ? 0x40 : 0x60) | (rng() % 16));
    VirtioNetHdr h;
    h.gso_type = uint8_t(std::vector<int>{1, 4, 5, 3, 0x81}[rng() % 5]);
    h.gso_size = uint16_t(rng() % 300);
    h.csum_start = uint16_t(rng() % 2 ? (rng() % 2 ? 20 : 40) : rng() % 100);
    h.csum_offset = uint16_t(rng() % 2 ? 16 : 6);
    auto gso = ParseGsoSuperPacket(h, packet);
    if (!gso) continue;
    ASSERT_LE(gso->hdr_len, packet.size());
    for (size_t i = gso->segments; i-- > 1;) {
      std::vector<uint8_t> out(gso->SegmentLength(i));
      ASSERT_EQ(WriteGsoSegment(*gso, packet, i, out.data()), out.size());
    }
    ASSERT_LE(WriteGsoSegment(*gso, packet, 0, packet.data()), packet.size());
  }
}

}  // namespace
}  // namespace tundra::tun
