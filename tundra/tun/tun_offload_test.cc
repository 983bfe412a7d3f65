// LinuxTun's offload paths against MockKernel: super-packets split across several reads, groups
// coalesced into one writev, and the TUNSETOFFLOAD fallback.
#include <sys/uio.h>

#include <vector>

#include "tundra/tun/gso_split.h"
#include "tundra/tun/offload_testing.h"
#include "tundra/tun/tun_linux_fixture.h"

namespace tundra::tun {
namespace {

using testing::BuildPacket;
using testing::ChecksumsValid;
using testing::PacketSpec;
using ::testing::SetErrnoAndReturn;

class TunOffloadTest : public TunLinuxTest {
 protected:
  std::unique_ptr<LinuxTun> OpenVnet(TunMode mode = TunMode::kTun) {
    TunOptions o;
    o.name = "tun0";
    o.mode = mode;
    o.vnet_hdr = true;
    return OpenOk(o, "tun0");
  }
};

TEST_F(TunOffloadTest, EnableOffloadsFallsBackWithoutUso) {
  auto tun = OpenVnet();
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETOFFLOAD, reinterpret_cast<void*>(0x67)))
      .WillOnce(SetErrnoAndReturn(EINVAL, -1));
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETOFFLOAD, reinterpret_cast<void*>(0x07)))
      .WillOnce(Return(0));
  auto flags = tun->EnableOffloads();
  ASSERT_TRUE(flags.ok()) << flags.error().message();
  EXPECT_EQ(*flags, 0x07u);
  EXPECT_TRUE(tun->coalescing());
}

TEST_F(TunOffloadTest, EnableOffloadsIsForTunOnly) {
  auto tap = OpenVnet(TunMode::kTap);
  auto flags = tap->EnableOffloads();
  ASSERT_FALSE(flags.ok());
  EXPECT_EQ(flags.error().message(), "tun0: offloads are only used on TUN devices");
}

TEST_F(TunOffloadTest, SuperPacketLargerThanTheBatchIsHandedOutOverSeveralReads) {
  auto tun = OpenVnet();
  PacketSpec spec;
  spec.tcp = false;
  spec.payload = 10;  // five segments of 2 bytes
  const std::vector<uint8_t> super = BuildPacket(spec);
  EXPECT_CALL(kernel_, readv(kFd, _, _))
      .WillOnce(Invoke([&](int, const struct iovec* iov, int) {
        VirtioNetHdr h{kVirtioNetHdrFNeedsCsum, kVirtioNetHdrGsoUdpL4, 28, 2, 20, 6};
        EncodeVirtioNetHdr(h, static_cast<uint8_t*>(iov[0].iov_base));
        std::memcpy(iov[1].iov_base, super.data(), super.size());
        return ssize_t(kVirtioNetHdrSize + super.size());
      }))
      .WillRepeatedly(SetErrnoAndReturn(EAGAIN, -1));
  std::vector<uint8_t> storage(2 * 100);
  std::vector<MutableByteSpan> bufs = {MutableByteSpan(storage.data(), 100),
                                       MutableByteSpan(storage.data() + 100, 100)};
  std::vector<size_t> sizes(2);
  std::vector<std::vector<uint8_t>> got;
  for (size_t want : {2u, 2u, 1u, 0u}) {
    auto n = tun->Read(bufs, sizes, 16);
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, want);
    for (size_t i = 0; i < *n; ++i) {
      got.emplace_back(bufs[i].begin() + 16, bufs[i].begin() + 16 + long(sizes[i]));
    }
  }
  ASSERT_EQ(got.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    PacketSpec one = spec;
    one.payload = 2;
    one.ip_id = uint16_t(i);
    one.fill = uint8_t(2 * i);
    EXPECT_EQ(got[i], BuildPacket(one)) << "segment " << i;
  }
  EXPECT_EQ(tun->offloads().segments_split, 5u);
}

TEST_F(TunOffloadTest, WriteCoalescesAFlowIntoOneWritev) {
  auto tun = OpenVnet();
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETOFFLOAD, reinterpret_cast<void*>(0x07)))
      .WillOnce(Return(0));
  ASSERT_TRUE(tun->SetOffload(kTunFCsum | kTunFTso4 | kTunFTso6).ok());
  // Three segments of one TCP flow, then a UDP datagram (USO is off: written alone).
  std::vector<std::vector<uint8_t>> packets;
  std::vector<std::vector<uint8_t>> originals;
  for (uint32_t i = 0; i < 3; ++i) {
    PacketSpec s;
    s.seq = 1 + i * 100;
    s.ip_id = uint16_t(i);  // as the sender's stack numbers them (and splitting does)
    s.fill = uint8_t(i);
    originals.push_back(BuildPacket(s));
  }
  PacketSpec udp;
  udp.tcp = false;
  originals.push_back(BuildPacket(udp));
  std::vector<MutableByteSpan> bufs;
  for (const auto& o : originals) {
    packets.emplace_back(16, 0);
    packets.back().insert(packets.back().end(), o.begin(), o.end());
  }
  for (auto& p : packets) bufs.emplace_back(p.data(), p.size());

  std::vector<uint8_t> merged;
  VirtioNetHdr vnet;
  int iov_count = 0;
  EXPECT_CALL(kernel_, writev(kFd, _, _)).WillOnce(Invoke([&](int, const struct iovec* iov, int n) {
    iov_count = n;
    vnet = DecodeVirtioNetHdr(static_cast<const uint8_t*>(iov[0].iov_base));
    for (int i = 1; i < n; ++i) {
      auto* b = static_cast<const uint8_t*>(iov[i].iov_base);
      merged.insert(merged.end(), b, b + iov[i].iov_len);
    }
    return ssize_t(0);
  }));
  std::vector<uint8_t> alone;
  EXPECT_CALL(kernel_, write(kFd, _, _)).WillOnce(Invoke([&](int, const void* b, size_t len) {
    auto* p = static_cast<const uint8_t*>(b);
    alone.assign(p, p + len);
    return ssize_t(len);
  }));
  auto n = tun->Write(bufs, 16);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(iov_count, 4);  // header, first packet, two payloads
  EXPECT_EQ(vnet, (VirtioNetHdr{kVirtioNetHdrFNeedsCsum, kVirtioNetHdrGsoTcpV4, 40, 100, 20, 16}));
  ASSERT_EQ(merged.size(), 340u);
  // The kernel's view: complete the partial checksum, then split back into the originals.
  std::vector<uint8_t> completed = merged;
  ASSERT_TRUE(CompleteChecksum(completed, 20, 16));
  EXPECT_TRUE(ChecksumsValid(completed));
  auto gso = ParseGsoSuperPacket(vnet, merged);
  ASSERT_TRUE(gso.has_value());
  for (size_t i = 0; i < 3; ++i) {
    std::vector<uint8_t> seg(gso->SegmentLength(i));
    WriteGsoSegment(*gso, merged, i, seg.data());
    EXPECT_EQ(seg, originals[i]);
  }
  // The lone datagram goes out with an all-zero header in its headroom.
  ASSERT_EQ(alone.size(), kVirtioNetHdrSize + originals[3].size());
  EXPECT_EQ(DecodeVirtioNetHdr(alone.data()), VirtioNetHdr{});
  EXPECT_EQ(std::vector<uint8_t>(alone.begin() + kVirtioNetHdrSize, alone.end()), originals[3]);
  EXPECT_EQ(tun->offloads().super_packets_written, 1u);
  EXPECT_EQ(tun->offloads().packets_coalesced, 3u);
}

}  // namespace
}  // namespace tundra::tun
