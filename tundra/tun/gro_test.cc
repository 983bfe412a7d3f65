#include "tundra/tun/gro.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tundra/tun/gso_split.h"
#include "tundra/tun/offload_testing.h"

namespace tundra::tun {
namespace {

using testing::BuildPacket;
using testing::ChecksumsValid;
using testing::PacketSpec;

struct Batch {
  std::vector<std::vector<uint8_t>> packets;
  std::vector<MutableByteSpan> spans;
  GroTable table;

  void Add(const PacketSpec& spec) { packets.push_back(BuildPacket(spec)); }
  void Coalesce(bool udp) {
    spans.clear();
    for (auto& p : packets) spans.emplace_back(p.data(), p.size());
    table.Coalesce(spans, udp);
  }
  // What one write of the TUN would carry (without the virtio_net_hdr).
  std::vector<uint8_t> Written(const GroTable::Write& w) const {
    std::vector<uint8_t> out(packets[w.head]);
    for (int32_t i = table.next(w.head); i >= 0; i = table.next(size_t(i))) {
      out.insert(out.end(), packets[size_t(i)].begin() + w.hdr_len, packets[size_t(i)].end());
    }
    return out;
  }
  std::vector<uint32_t> Heads() const {
    std::vector<uint32_t> v;
    for (const auto& w : table.writes()) v.push_back(w.head);
    return v;
  }
  std::vector<size_t> Lengths() const {
    std::vector<size_t> v;
    for (const auto& w : table.writes()) v.push_back(Written(w).size());
    return v;
  }
};

PacketSpec Tcp(bool v6, uint16_t dport, uint32_t seq, uint8_t flags = 0x10) {
  PacketSpec s;
  s.v6 = v6;
  s.dport = dport;
  s.tcp_flags = flags;
  s.seq = seq;
  return s;
}
PacketSpec Udp(bool v6, uint16_t dport) {
  PacketSpec s;
  s.v6 = v6;
  s.tcp = false;
  s.dport = dport;
  return s;
}

// wireguard-go tun/offload_linux_test.go "multiple protocols and flows" (100-byte payloads).
void AddMultipleFlows(Batch& b) {
  b.Add(Tcp(false, 2000, 1));    // tcp4 flow 1
  b.Add(Udp(false, 2000));       // udp4 flow 1
  b.Add(Udp(false, 3000));       // udp4 flow 2
  b.Add(Tcp(false, 2000, 101));  // tcp4 flow 1
  b.Add(Tcp(false, 3000, 201));  // tcp4 flow 2
  b.Add(Tcp(true, 2000, 1));     // tcp6 flow 1
  b.Add(Tcp(true, 2000, 101));   // tcp6 flow 1
  b.Add(Tcp(true, 3000, 201));   // tcp6 flow 2
  b.Add(Udp(false, 2000));       // udp4 flow 1
  b.Add(Udp(true, 2000));        // udp6 flow 1
  b.Add(Udp(true, 2000));        // udp6 flow 1
}

TEST(GroTest, MultipleProtocolsAndFlows) {
  Batch b;
  AddMultipleFlows(b);
  b.Coalesce(/*udp=*/true);
  EXPECT_EQ(b.Heads(), (std::vector<uint32_t>{0, 1, 2, 4, 5, 7, 9}));
  EXPECT_EQ(b.Lengths(), (std::vector<size_t>{240, 228, 128, 140, 260, 160, 248}));
}

TEST(GroTest, MultipleProtocolsAndFlowsWithoutUso) {
  Batch b;
  AddMultipleFlows(b);
  b.Coalesce(/*udp=*/false);
  EXPECT_EQ(b.Heads(), (std::vector<uint32_t>{0, 1, 2, 4, 5, 7, 8, 9, 10}));
  EXPECT_EQ(b.Lengths(), (std::vector<size_t>{240, 128, 128, 140, 260, 160, 128, 148, 148}));
}

TEST(GroTest, PshClosesItsGroup) {
  Batch b;
  b.Add(Tcp(false, 2000, 1));
  b.Add(Tcp(false, 2000, 101, 0x18));
  b.Add(Tcp(false, 2000, 201));
  b.Add(Tcp(false, 2000, 301));
  b.Coalesce(true);
  EXPECT_EQ(b.Lengths(), (std::vector<size_t>{240, 240}));
  // The first group ends with the PSH segment: the merged header carries PSH.
  EXPECT_EQ(b.packets[0][33], 0x18);
  EXPECT_EQ(b.packets[2][33], 0x10);
}

TEST(GroTest, HeadersThatDifferDoNotMerge) {
  Batch b;
  PacketSpec a = Tcp(false, 2000, 1);
  PacketSpec ttl = Tcp(false, 2000, 101);
  ttl.ttl = 63;
  PacketSpec ack = Tcp(false, 2000, 101);
  ack.ack = 2;
  PacketSpec opts = Tcp(false, 2000, 101);
  opts.tcp_options = {1, 1, 1, 1};
  PacketSpec tos = Tcp(false, 2000, 101);
  tos.tos = 4;
  PacketSpec gap = Tcp(false, 2000, 102);  // not the next sequence number
  for (const auto& s : {a, ttl, ack, opts, tos, gap}) b.Add(s);
  b.Coalesce(true);
  EXPECT_EQ(b.table.writes().size(), 6u);
  for (const auto& w : b.table.writes()) EXPECT_EQ(w.vnet, VirtioNetHdr{});
}

TEST(GroTest, NonCandidatesAreWrittenAloneAndUnchanged) {
  Batch b;
  b.Add(Tcp(false, 2000, 1));
  PacketSpec fin = Tcp(false, 2000, 101, 0x11);
  b.Add(fin);
  PacketSpec pure_ack = Tcp(false, 2000, 101);
  pure_ack.payload = 0;
  b.Add(pure_ack);
  b.Add(Udp(false, 2000));
  b.packets.back()[6] = 0x20;  // more fragments
  const auto before = b.packets;
  b.Coalesce(true);
  EXPECT_EQ(b.table.writes().size(), 4u);
  EXPECT_EQ(b.packets, before);
}

TEST(GroTest, ShortSegmentEndsTheGroupAndReorderedSegmentsStartNewOnes) {
  Batch b;
  b.Add(Tcp(false, 2000, 101));
  b.Add(Tcp(false, 2000, 1));    // before the first: a new group, never prepended
  b.Add(Tcp(false, 2000, 201));  // continues the first group
  PacketSpec shorter = Tcp(false, 2000, 301);
  shorter.payload = 50;
  b.Add(shorter);                // a short tail: still joins
  b.Add(Tcp(false, 2000, 351));  // but nothing may follow it
  b.Coalesce(true);
  EXPECT_EQ(b.Heads(), (std::vector<uint32_t>{0, 1, 4}));
  EXPECT_EQ(b.Lengths(), (std::vector<size_t>{290, 140, 140}));
}

TEST(GroTest, GroupsStayWithinSegmentAndLengthLimits) {
  Batch b;
  for (uint32_t i = 0; i < 70; ++i) b.Add(Udp(false, 2000));
  b.Coalesce(true);
  EXPECT_EQ(b.table.writes().size(), 2u);
  EXPECT_EQ(b.table.writes()[0].segments, kGroMaxSegments);

  Batch big;
  for (uint32_t i = 0; i < 50; ++i) {
    PacketSpec s = Tcp(false, 2000, 1 + i * 1400);
    s.payload = 1400;
    big.Add(s);
  }
  big.Coalesce(true);
  ASSERT_EQ(big.table.writes().size(), 2u);
  EXPECT_EQ(big.table.writes()[0].segments, 46u);  // 40 + 46 * 1400 = 64440; one more > 65535
  EXPECT_LE(big.Lengths()[0], 65535u);
}

// Merging then splitting returns the original packets: the merged headers, the virtio_net_hdr
// and the CHECKSUM_PARTIAL pseudo-header sum are exactly what the kernel expects.
TEST(GroTest, CoalescedGroupsSplitBackIntoTheOriginals) {
  for (bool v6 : {false, true}) {
    for (bool tcp : {true, false}) {
      Batch b;
      for (uint32_t i = 0; i < 5; ++i) {
        PacketSpec s;
        s.v6 = v6;
        s.tcp = tcp;
        s.tcp_flags = uint8_t(i == 4 ? 0x18 : 0x10);
        s.seq = 0xfffffe00 + i * 300;
        s.tcp_options = {1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6};
        s.ip_id = uint16_t(0xfffe + i);
        s.payload = i == 4 ? 123u : 300u;
        s.fill = uint8_t(i * 7);
        b.Add(s);
      }
      const auto originals = b.packets;
      b.Coalesce(true);
      ASSERT_EQ(b.table.writes().size(), 1u);
      const GroTable::Write& w = b.table.writes()[0];
      EXPECT_EQ(w.segments, 5u);
      EXPECT_EQ(w.vnet.flags, kVirtioNetHdrFNeedsCsum);
      EXPECT_EQ(w.vnet.gso_size, 300);
      std::vector<uint8_t> merged = b.Written(w);
      // The kernel completes the checksum from the pseudo-header sum: do what it does.
      std::vector<uint8_t> completed = merged;
      ASSERT_TRUE(CompleteChecksum(completed, w.vnet.csum_start, w.vnet.csum_offset));
      EXPECT_TRUE(ChecksumsValid(completed));
      auto gso = ParseGsoSuperPacket(w.vnet, merged);
      ASSERT_TRUE(gso.has_value());
      ASSERT_EQ(gso->segments, 5u);
      for (size_t i = 0; i < 5; ++i) {
        std::vector<uint8_t> seg(gso->SegmentLength(i));
        WriteGsoSegment(*gso, merged, i, seg.data());
        EXPECT_EQ(seg, originals[i]) << "v6=" << v6 << " tcp=" << tcp << " seg " << i;
      }
    }
  }
}

}  // namespace
}  // namespace tundra::tun

namespace tundra::tun {
namespace {

// Random batches (similar flows, random lengths, flags, sequence gaps and corrupted bytes):
// every packet is written exactly once, groups stay within the limits, and a merged group is
// one that splits back into packets of the announced size (run under ASan in sanitizer builds).
TEST(GroTest, RandomBatchesKeepEveryPacketOnceAndWithinLimits) {
  std::mt19937 rng(5);
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::vector<uint8_t>> packets;
    const size_t n = 1 + rng() % 40;
    uint32_t seq = 1;
    for (size_t i = 0; i < n; ++i) {
      testing::PacketSpec s;
      s.v6 = rng() % 3 == 0;
      s.tcp = rng() % 4 != 0;
      s.dport = uint16_t(2000 + rng() % 2);
      s.tcp_flags = std::vector<uint8_t>{0x10, 0x10, 0x10, 0x18, 0x11, 0x02}[rng() % 6];
      s.payload = rng() % 5 == 0 ? rng() % 200 : 100;
      s.seq = rng() % 8 == 0 ? seq + 7 : seq;
      seq = s.seq + uint32_t(s.payload);
      std::vector<uint8_t> p = testing::BuildPacket(s);
      if (rng() % 10 == 0) p[rng() % p.size()] ^= uint8_t(1 + rng() % 255);
      if (rng() % 20 == 0) p.resize(rng() % (p.size() + 1));
      packets.push_back(std::move(p));
    }
    std::vector<MutableByteSpan> spans;
    for (auto& p : packets) spans.emplace_back(p.data(), p.size());
    GroTable table;
    table.Coalesce(spans, rng() % 2 == 0);
    std::vector<int> seen(n, 0);
    for (const GroTable::Write& w : table.writes()) {
      size_t len = packets[w.head].size();
      size_t count = 1;
      ++seen[w.head];
      for (int32_t i = table.next(w.head); i >= 0; i = table.next(size_t(i))) {
        ++seen[size_t(i)];
        ++count;
        ASSERT_LE(w.hdr_len, packets[size_t(i)].size());
        len += packets[size_t(i)].size() - w.hdr_len;
      }
      ASSERT_EQ(count, w.segments);
      ASSERT_LE(w.segments, kGroMaxSegments);
      ASSERT_LE(len, 65535u);
      if (w.segments > 1) {
        ASSERT_NE(w.vnet.gso_type, kVirtioNetHdrGsoNone);
        ASSERT_EQ(w.vnet.hdr_len, w.hdr_len);
      } else {
        ASSERT_EQ(w.vnet, VirtioNetHdr{});
      }
    }
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(seen[i], 1) << "packet " << i << " round " << round;
  }
}

}  // namespace
}  // namespace tundra::tun
