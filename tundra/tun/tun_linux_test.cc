// LinuxTun against MockKernel: flags, setup order, rollback and the data path, without root.
#include "tundra/tun/tun_linux.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "tundra/base/mock_kernel.h"
#include "tundra/tun/tun_linux_fixture.h"
#include "tundra/tun/vnet_hdr.h"

namespace tundra::tun {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::InSequence;
using ::testing::Invoke;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::SetErrnoAndReturn;
using ::testing::StrEq;

TEST(TunFlagsTest, Composition) {
  struct Case {
    TunMode mode;
    bool no_pi, mq, vnet, excl;
    uint16_t flags;
  } cases[] = {
      {TunMode::kTun, false, false, false, false, 0x0001},
      {TunMode::kTap, false, false, false, false, 0x0002},
      {TunMode::kTun, true, false, false, false, 0x1001},
      {TunMode::kTun, true, true, false, false, 0x1101},
      {TunMode::kTun, true, false, true, false, 0x5001},  // wireguard-go's 0x5001
      {TunMode::kTap, true, true, true, false, 0x5102},
      {TunMode::kTun, false, false, false, true, 0x8001},
  };
  for (const Case& c : cases) {
    TunOptions o;
    o.mode = c.mode;
    o.no_pi = c.no_pi;
    o.multi_queue = c.mq;
    o.vnet_hdr = c.vnet;
    o.exclusive = c.excl;
    EXPECT_EQ(TunSetIffFlags(o), c.flags) << std::hex << c.flags;
  }
}

TEST(TunNameTest, Validation) {
  EXPECT_TRUE(ValidateInterfaceName("tun0").ok());
  EXPECT_TRUE(ValidateInterfaceName("tun%d").ok());
  EXPECT_TRUE(ValidateInterfaceName("a23456789012345").ok());  // 15 bytes
  auto too_long = ValidateInterfaceName("a234567890123456");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().message(),
            "interface name 'a234567890123456' is 16 bytes long (at most 15)");
  EXPECT_FALSE(ValidateInterfaceName("").ok());
  EXPECT_FALSE(ValidateInterfaceName("a/b").ok());
  EXPECT_FALSE(ValidateInterfaceName("a b").ok());
  EXPECT_FALSE(ValidateInterfaceName("a:0").ok());
  EXPECT_FALSE(ValidateInterfaceName("..").ok());
  EXPECT_FALSE(ValidateInterfaceName("t%d%d").ok());
  EXPECT_FALSE(ValidateInterfaceName("t%s").ok());
  EXPECT_FALSE(ValidateInterfaceName("t%").ok());
}

TEST_F(TunLinuxTest, OpensInOrderAndReportsRealName) {
  {
    InSequence seq;
    ExpectOpen();
    ExpectFeatures();
    ExpectSetIff("tun7");
    ExpectGetIff();
    ExpectNonBlock();
    ExpectCloseOnce();
  }
  TunOptions o;
  o.name = "tun%d";
  auto tun = LinuxTun::Open(o, kernel_);
  ASSERT_TRUE(tun.ok()) << tun.error().message();
  EXPECT_EQ(requested_name_, "tun%d");
  EXPECT_EQ(requested_flags_, IFF_TUN | IFF_NO_PI);
  EXPECT_EQ((*tun)->name(), "tun7");
  EXPECT_EQ((*tun)->poll_fd(), kFd);
  EXPECT_FALSE((*tun)->has_pi());
  EXPECT_FALSE((*tun)->persistent());
}

TEST_F(TunLinuxTest, FailedSetIffClosesTheFdOnceWithTheCallInTheError) {
  ExpectOpen();
  ExpectFeatures();
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETIFF, _)).WillOnce(SetErrnoAndReturn(EPERM, -1));
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETPERSIST, _)).Times(0);
  ExpectCloseOnce();
  TunOptions o;
  o.name = "tun%d";
  auto tun = LinuxTun::Open(o, kernel_);
  ASSERT_FALSE(tun.ok());
  EXPECT_EQ(tun.error().message(), "ioctl(TUNSETIFF) tun%d: Operation not permitted");
  EXPECT_EQ(tun.error().code(), EPERM);
}

TEST_F(TunLinuxTest, MissingCloneDeviceIsExplained) {
  EXPECT_CALL(kernel_, open(_, _)).WillOnce(SetErrnoAndReturn(ENOENT, -1));
  EXPECT_CALL(kernel_, close(_)).Times(0);
  EXPECT_CALL(kernel_, ioctl(_, _, _)).Times(0);
  TunOptions o;
  o.name = "tun0";
  auto tun = LinuxTun::Open(o, kernel_);
  ASSERT_FALSE(tun.ok());
  EXPECT_EQ(tun.error().code(), ENOENT);
  EXPECT_THAT(tun.error().message(), ::testing::StartsWith("open(/dev/net/tun): No such file"));
  EXPECT_THAT(tun.error().message(), ::testing::HasSubstr("modprobe tun"));
}

TEST_F(TunLinuxTest, UnsupportedFeatureIsNamedAndNothingIsCreated) {
  ExpectOpen();
  ExpectFeatures(kAllFeatures & ~IFF_MULTI_QUEUE);
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETIFF, _)).Times(0);
  ExpectCloseOnce();
  TunOptions o;
  o.name = "tun0";
  o.multi_queue = true;
  auto tun = LinuxTun::Open(o, kernel_);
  ASSERT_FALSE(tun.ok());
  EXPECT_EQ(tun.error().message(),
            "IFF_MULTI_QUEUE is not supported by this kernel (requested for tun0)");
}

TEST_F(TunLinuxTest, TooLongNameFailsBeforeOpening) {
  EXPECT_CALL(kernel_, open(_, _)).Times(0);
  TunOptions o;
  o.name = "this-name-is-too-long";
  auto tun = LinuxTun::Open(o, kernel_);
  ASSERT_FALSE(tun.ok());
  EXPECT_THAT(tun.error().message(), ::testing::HasSubstr("'this-name-is-too-long' is 21 bytes"));
}

TEST_F(TunLinuxTest, OwnerFailureBeforePersistClosesAndNeverPersists) {
  ExpectOpen();
  ExpectFeatures();
  ExpectSetIff("tun3");
  ExpectGetIff();
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETOWNER, _)).WillOnce(SetErrnoAndReturn(EPERM, -1));
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETGROUP, _)).Times(0);
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETPERSIST, _)).Times(0);
  ExpectCloseOnce();
  TunOptions o;
  o.name = "tun3";
  o.owner = 1000;
  o.group = 100;
  o.persist = true;
  auto tun = LinuxTun::Open(o, kernel_);
  ASSERT_FALSE(tun.ok());
  EXPECT_EQ(tun.error().message(), "ioctl(TUNSETOWNER 1000) tun3: Operation not permitted");
}

TEST_F(TunLinuxTest, GroupFailureBeforePersistClosesAndNeverPersists) {
  ExpectOpen();
  ExpectFeatures();
  ExpectSetIff("tun3");
  ExpectGetIff();
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETOWNER, _)).WillOnce(Return(0));
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETGROUP, _)).WillOnce(SetErrnoAndReturn(EINVAL, -1));
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETPERSIST, _)).Times(0);
  ExpectCloseOnce();
  TunOptions o;
  o.name = "tun3";
  o.owner = 1000;
  o.group = 100;
  o.persist = true;
  auto tun = LinuxTun::Open(o, kernel_);
  ASSERT_FALSE(tun.ok());
  EXPECT_EQ(tun.error().message(), "ioctl(TUNSETGROUP 100) tun3: Invalid argument");
}

TEST_F(TunLinuxTest, PersistIsTheLastStepAndArgumentsAreByValue) {
  {
    InSequence seq;
    ExpectOpen();
    ExpectFeatures();
    ExpectSetIff("tap0");
    ExpectGetIff();
    EXPECT_CALL(kernel_, ioctl(kFd, TUNSETOWNER, reinterpret_cast<void*>(1000)))
        .WillOnce(Return(0));
    EXPECT_CALL(kernel_, ioctl(kFd, TUNSETGROUP, reinterpret_cast<void*>(100))).WillOnce(Return(0));
    ExpectNonBlock();
    EXPECT_CALL(kernel_, ioctl(kFd, TUNSETPERSIST, reinterpret_cast<void*>(1))).WillOnce(Return(0));
    ExpectCloseOnce();
  }
  TunOptions o;
  o.name = "tap0";
  o.mode = TunMode::kTap;
  o.no_pi = false;
  o.owner = 1000;
  o.group = 100;
  o.persist = true;
  auto tun = LinuxTun::Open(o, kernel_);
  ASSERT_TRUE(tun.ok()) << tun.error().message();
  EXPECT_EQ(requested_flags_, IFF_TAP);
  EXPECT_TRUE((*tun)->persistent());
  EXPECT_TRUE((*tun)->has_pi());
  EXPECT_EQ((*tun)->mode(), TunMode::kTap);
}

TEST_F(TunLinuxTest, PersistFailureClosesTheFd) {
  ExpectOpen();
  ExpectFeatures();
  ExpectSetIff("tun1");
  ExpectGetIff();
  ExpectNonBlock();
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETPERSIST, _)).WillOnce(SetErrnoAndReturn(EPERM, -1));
  ExpectCloseOnce();
  TunOptions o;
  o.name = "tun1";
  o.persist = true;
  auto tun = LinuxTun::Open(o, kernel_);
  ASSERT_FALSE(tun.ok());
  EXPECT_EQ(tun.error().message(), "ioctl(TUNSETPERSIST 1) tun1: Operation not permitted");
}

// A fake sysfs tree for the explanations of TUNSETIFF failures.
class FakeSysfs {
 public:
  FakeSysfs() {
    char tmpl[] = "/tmp/tundra-sysfs-XXXXXX";
    root_ = ::mkdtemp(tmpl);
  }
  ~FakeSysfs() { std::filesystem::remove_all(root_); }
  void Add(const std::string& dev, const std::string& attr, const std::string& value) {
    std::filesystem::create_directories(root_ + "/" + dev);
    if (!attr.empty()) std::ofstream(root_ + "/" + dev + "/" + attr) << value << "\n";
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

struct ExplainCase {
  std::string existing_flags;  // "" = exists but is not TUN/TAP
  TunMode mode;
  bool mq, excl;
  int err;
  std::string message;
};

TEST_F(TunLinuxTest, SetIffFailuresOnExistingDevicesAreExplained) {
  const ExplainCase cases[] = {
      {"0x1002", TunMode::kTun, false, false, EINVAL, "dev0 exists and is a TAP device, not TUN"},
      {"0x1001", TunMode::kTap, false, false, EINVAL, "dev0 exists and is a TUN device, not TAP"},
      {"0x1002", TunMode::kTun, false, true, EBUSY, "dev0 exists and is a TAP device, not TUN"},
      {"", TunMode::kTun, false, false, EINVAL, "dev0 exists and is not a TUN/TAP device"},
      {"0x1101", TunMode::kTun, false, false, EINVAL,
       "dev0 exists as a multi-queue device (open it with multi-queue)"},
      {"0x1001", TunMode::kTun, true, false, EINVAL,
       "dev0 exists as a single-queue device (multi-queue was requested)"},
      {"0x1801", TunMode::kTun, false, true, EBUSY, "dev0 already exists"},
      {"0x1101", TunMode::kTun, false, true, EBUSY, "dev0 already exists"},
      {"0x1001", TunMode::kTun, false, false, EBUSY,
       "dev0 is in use by another process (a single-queue TUN device accepts one open file)"},
  };
  for (const ExplainCase& c : cases) {
    FakeSysfs sysfs;
    sysfs.Add("dev0", c.existing_flags.empty() ? "" : "tun_flags", c.existing_flags);
    ExpectOpen();
    ExpectFeatures();
    EXPECT_CALL(kernel_, ioctl(kFd, TUNSETIFF, _)).WillOnce(SetErrnoAndReturn(c.err, -1));
    ExpectCloseOnce();
    TunOptions o;
    o.name = "dev0";
    o.mode = c.mode;
    o.multi_queue = c.mq;
    o.exclusive = c.excl;
    o.sysfs_root = sysfs.root();
    auto tun = LinuxTun::Open(o, kernel_);
    ASSERT_FALSE(tun.ok());
    EXPECT_EQ(tun.error().message(), c.message);
    EXPECT_EQ(tun.error().code(), c.err);
    ::testing::Mock::VerifyAndClearExpectations(&kernel_);
  }
}

TEST_F(TunLinuxTest, SetIffFailureOnAMissingDeviceStaysRaw) {
  FakeSysfs sysfs;
  ExpectOpen();
  ExpectFeatures();
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETIFF, _)).WillOnce(SetErrnoAndReturn(EINVAL, -1));
  ExpectCloseOnce();
  TunOptions o;
  o.name = "dev0";
  o.sysfs_root = sysfs.root();
  auto tun = LinuxTun::Open(o, kernel_);
  ASSERT_FALSE(tun.ok());
  EXPECT_EQ(tun.error().message(), "ioctl(TUNSETIFF) dev0: Invalid argument");
}

// --- data path ---

std::vector<uint8_t> Ipv4Packet(size_t size, uint8_t fill) {
  std::vector<uint8_t> p(size, fill);
  p[0] = 0x45;
  StoreBe16(&p[2], uint16_t(size));
  return p;
}

TEST_F(TunLinuxTest, ReadWithoutPiBatchesUntilEagain) {
  TunOptions o;
  o.name = "tun0";
  auto tun = OpenOk(o, "tun0");
  const auto p1 = Ipv4Packet(40, 1), p2 = Ipv4Packet(60, 2);
  EXPECT_CALL(kernel_, read(kFd, _, _))
      .WillOnce(Invoke([&](int, void* buf, size_t cap) {
        EXPECT_EQ(cap, 2000u - 16);
        std::memcpy(buf, p1.data(), p1.size());
        return ssize_t(p1.size());
      }))
      .WillOnce(Invoke([&](int, void* buf, size_t) {
        std::memcpy(buf, p2.data(), p2.size());
        return ssize_t(p2.size());
      }))
      .WillOnce(SetErrnoAndReturn(EAGAIN, -1));
  std::vector<uint8_t> storage(4 * 2000);
  std::vector<MutableByteSpan> bufs;
  for (int i = 0; i < 4; ++i) bufs.emplace_back(storage.data() + i * 2000, 2000);
  std::vector<size_t> sizes(4);
  auto n = tun->Read(bufs, sizes, 16);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(sizes[0], 40u);
  EXPECT_EQ(sizes[1], 60u);
  EXPECT_EQ(std::vector<uint8_t>(bufs[1].begin() + 16, bufs[1].begin() + 16 + 60), p2);
  EXPECT_EQ(tun->drops().Total(), 0u);
}

TEST_F(TunLinuxTest, ReadStopsWhenTheBatchIsFullAndReportsErrorsOnlyWhenEmpty) {
  TunOptions o;
  o.name = "tun0";
  auto tun = OpenOk(o, "tun0");
  const auto p = Ipv4Packet(20, 0);
  EXPECT_CALL(kernel_, read(kFd, _, _))
      .WillOnce(Invoke([&](int, void* buf, size_t) {
        std::memcpy(buf, p.data(), p.size());
        return ssize_t(p.size());
      }))
      .WillOnce(SetErrnoAndReturn(EBADFD, -1));
  std::vector<uint8_t> storage(200);
  std::vector<MutableByteSpan> bufs = {MutableByteSpan(storage.data(), 100)};
  std::vector<size_t> sizes(1);
  auto n = tun->Read(bufs, sizes, 0);  // batch of one: exactly one read()
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  auto err = tun->Read(bufs, sizes, 0);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().message(), "read(tun0): File descriptor in bad state");
}

TEST_F(TunLinuxTest, ReadWithoutPiDetectsTruncationFromTheIpLength) {
  TunOptions o;
  o.name = "tun0";
  auto tun = OpenOk(o, "tun0");
  const auto big = Ipv4Packet(1500, 9);
  EXPECT_CALL(kernel_, read(kFd, _, _))
      .WillOnce(Invoke([&](int, void* buf, size_t cap) {
        std::memcpy(buf, big.data(), cap);  // the kernel copies what fits
        return ssize_t(cap);
      }))
      .WillOnce(SetErrnoAndReturn(EAGAIN, -1));
  std::vector<uint8_t> storage(1000);
  std::vector<MutableByteSpan> bufs = {storage};
  std::vector<size_t> sizes(1);
  auto n = tun->Read(bufs, sizes, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(tun->drops().Get(TunDropReason::kTruncated), 1u);
}

TEST_F(TunLinuxTest, ReadWithPiStripsTheHeaderAndReportsIt) {
  TunOptions o;
  o.name = "tun0";
  o.no_pi = false;
  auto tun = OpenOk(o, "tun0");
  ASSERT_TRUE(tun->has_pi());
  const auto p = Ipv4Packet(28, 5);
  auto fill = [&](uint16_t flags) {
    return Invoke([&p, flags](int, const struct iovec* iov, int iovcnt) {
      EXPECT_EQ(iovcnt, 2);
      EXPECT_EQ(iov[0].iov_len, kPiHeaderSize);
      EncodePi({flags, kEtherTypeIpv4}, static_cast<uint8_t*>(iov[0].iov_base));
      std::memcpy(iov[1].iov_base, p.data(), p.size());
      return ssize_t(kPiHeaderSize + p.size());
    });
  };
  EXPECT_CALL(kernel_, readv(kFd, _, _))
      .WillOnce(fill(0))
      .WillOnce(fill(kPiFlagStrip))  // truncated by the kernel: dropped
      .WillOnce(Invoke([](int, const struct iovec*, int) -> ssize_t { return 2; }))  // short
      .WillOnce(SetErrnoAndReturn(EAGAIN, -1));
  std::vector<uint8_t> storage(2 * 100);
  std::vector<MutableByteSpan> bufs = {MutableByteSpan(storage.data(), 100),
                                       MutableByteSpan(storage.data() + 100, 100)};
  std::vector<size_t> sizes(2);
  std::vector<PacketInfo> info(2);
  auto n = tun->Read(bufs, sizes, 16, info);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(sizes[0], p.size());
  EXPECT_EQ(info[0].proto, kEtherTypeIpv4);
  EXPECT_EQ(info[0].flags, 0);
  EXPECT_EQ(std::vector<uint8_t>(bufs[0].begin() + 16, bufs[0].begin() + 16 + 28), p);
  EXPECT_EQ(tun->drops().Get(TunDropReason::kTruncated), 1u);
  EXPECT_EQ(tun->drops().Get(TunDropReason::kBadPi), 1u);
}

TEST_F(TunLinuxTest, ReadWithVnetHdrCompletesChecksumsAndSplitsGso) {
  TunOptions o;
  o.name = "tun0";
  o.vnet_hdr = true;
  auto tun = OpenOk(o, "tun0");
  ASSERT_TRUE(tun->vnet_hdr());
  // IPv4/UDP 198.19.0.1 -> 198.19.0.2, 4-byte payload, CHECKSUM_PARTIAL.
  std::vector<uint8_t> p = Ipv4Packet(32, 0);
  p[9] = 17;
  const uint8_t src[] = {198, 19, 0, 1}, dst[] = {198, 19, 0, 2};
  std::memcpy(&p[12], src, 4);
  std::memcpy(&p[16], dst, 4);
  StoreBe16(&p[24], 12);
  p[28] = 'p', p[29] = 'i', p[30] = 'n', p[31] = 'g';
  StoreBe16(&p[26], ChecksumFold(PseudoHeaderSum(src, dst, 17, 12)));
  auto deliver = [&](VirtioNetHdr h) {
    return Invoke([&p, h](int, const struct iovec* iov, int) {
      EXPECT_EQ(iov[0].iov_len, kVirtioNetHdrSize);
      EncodeVirtioNetHdr(h, static_cast<uint8_t*>(iov[0].iov_base));
      std::memcpy(iov[1].iov_base, p.data(), p.size());
      return ssize_t(kVirtioNetHdrSize + p.size());
    });
  };
  EXPECT_CALL(kernel_, readv(kFd, _, _))
      .WillOnce(deliver({kVirtioNetHdrFNeedsCsum, kVirtioNetHdrGsoNone, 0, 0, 20, 6}))
      .WillOnce(deliver({kVirtioNetHdrFNeedsCsum, kVirtioNetHdrGsoUdpL4, 28, 2, 20, 6}))
      .WillOnce(deliver(
          {kVirtioNetHdrFNeedsCsum, kVirtioNetHdrGsoTcpV4 | kVirtioNetHdrGsoEcn, 40, 2, 20, 16}))
      .WillOnce(deliver({kVirtioNetHdrFNeedsCsum, kVirtioNetHdrGsoNone, 0, 0, 20, 60}))
      .WillOnce(SetErrnoAndReturn(EAGAIN, -1));
  std::vector<uint8_t> storage(4 * 100);
  std::vector<MutableByteSpan> bufs;
  for (int i = 0; i < 4; ++i) bufs.emplace_back(storage.data() + i * 100, 100);
  std::vector<size_t> sizes(4);
  auto n = tun->Read(bufs, sizes, 0);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 3u);  // the packet, then the UDP super-packet as two datagrams of 2 bytes
  ASSERT_EQ(sizes[0], 32u);
  const ByteSpan udp = ByteSpan(bufs[0]).subspan(20, 12);
  EXPECT_NE(LoadBe16(udp.data() + 6), 0);
  EXPECT_EQ(Checksum(udp, PseudoHeaderSum(src, dst, 17, 12)), 0) << "checksum verifies";
  for (size_t i = 1; i < 3; ++i) {
    ASSERT_EQ(sizes[i], 30u);
    const ByteSpan seg = ByteSpan(bufs[i]).first(30);
    EXPECT_EQ(Checksum(seg.first(20)), 0) << "IPv4 header checksum of segment " << i;
    EXPECT_EQ(Checksum(seg.subspan(20), PseudoHeaderSum(src, dst, 17, 10)), 0);
    EXPECT_EQ(seg[28], i == 1 ? 'p' : 'n');
  }
  EXPECT_EQ(tun->offloads().super_packets_read, 1u);
  EXPECT_EQ(tun->offloads().segments_split, 2u);
  EXPECT_EQ(tun->drops().Get(TunDropReason::kUnsupportedGso), 1u);  // ECN is never requested
  EXPECT_EQ(tun->drops().Get(TunDropReason::kBadVnetHdr), 1u);
}

TEST_F(TunLinuxTest, WriteWithPiUsesTheHeadroomInPlace) {
  TunOptions o;
  o.name = "tun0";
  o.no_pi = false;
  auto tun = OpenOk(o, "tun0");
  std::vector<uint8_t> v6(16 + 40, 0);
  v6[16] = 0x60;
  std::vector<MutableByteSpan> bufs = {v6};
  EXPECT_CALL(kernel_, write(kFd, _, _)).WillOnce(Invoke([&](int, const void* data, size_t len) {
    EXPECT_EQ(data, v6.data() + 16 - kPiHeaderSize);
    EXPECT_EQ(len, kPiHeaderSize + 40);
    auto pi = DecodePi(static_cast<const uint8_t*>(data));
    EXPECT_EQ(pi.proto, kEtherTypeIpv6);
    EXPECT_EQ(pi.flags, 0);
    return ssize_t(len);
  }));
  auto n = tun->Write(bufs, 16);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
}

TEST_F(TunLinuxTest, WriteWithoutHeadroomFallsBackToWritev) {
  TunOptions o;
  o.name = "tap0";
  o.mode = TunMode::kTap;
  o.no_pi = false;
  o.vnet_hdr = true;
  auto tun = OpenOk(o, "tap0");
  std::vector<uint8_t> frame(2 + 60, 0);
  frame[2 + 12] = 0x08;
  frame[2 + 13] = 0x06;  // ARP
  std::vector<MutableByteSpan> bufs = {frame};
  EXPECT_CALL(kernel_, writev(kFd, _, 2)).WillOnce(Invoke([&](int, const struct iovec* iov, int) {
    EXPECT_EQ(iov[0].iov_len, kPiHeaderSize + kVirtioNetHdrSize);
    const auto* hdr = static_cast<const uint8_t*>(iov[0].iov_base);
    EXPECT_EQ(DecodePi(hdr).proto, kEtherTypeArp);
    EXPECT_EQ(DecodeVirtioNetHdr(hdr + kPiHeaderSize), VirtioNetHdr{});
    EXPECT_EQ(iov[1].iov_base, frame.data() + 2);
    EXPECT_EQ(iov[1].iov_len, 60u);
    return ssize_t(iov[0].iov_len + iov[1].iov_len);
  }));
  auto n = tun->Write(bufs, 2);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
}

TEST_F(TunLinuxTest, WriteCountsRejectedPacketsAndGoesOn) {
  TunOptions o;
  o.name = "tun0";
  o.no_pi = false;
  auto tun = OpenOk(o, "tun0");
  std::vector<uint8_t> a(16 + 20, 0), junk(16 + 20, 0), b(16 + 20, 0), c(16 + 20, 0), empty(16);
  a[16] = b[16] = c[16] = 0x45;
  junk[16] = 0x10;  // no IP version: no PI proto
  std::vector<MutableByteSpan> bufs = {a, junk, b, empty, c};
  EXPECT_CALL(kernel_, write(kFd, _, _))
      .WillOnce(Return(24))
      .WillOnce(SetErrnoAndReturn(EINVAL, -1))
      .WillOnce(SetErrnoAndReturn(EAGAIN, -1));
  auto n = tun->Write(bufs, 16);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(tun->drops().Get(TunDropReason::kBadPacket), 2u);
  EXPECT_EQ(tun->drops().Get(TunDropReason::kWriteRejected), 1u);
  EXPECT_EQ(tun->drops().Get(TunDropReason::kWriteWouldBlock), 1u);
  EXPECT_EQ(tun->drops().ToString(), "bad_packet=2 write_rejected=1 write_would_block=1");

  EXPECT_CALL(kernel_, write(kFd, _, _)).WillOnce(SetErrnoAndReturn(EBADFD, -1));
  auto gone = tun->Write(bufs, 16);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().message(), "write(tun0): File descriptor in bad state");
}

TEST_F(TunLinuxTest, QueueDetachAndAttach) {
  TunOptions o;
  o.name = "mq0";
  o.multi_queue = true;
  auto tun = OpenOk(o, "mq0");
  EXPECT_TRUE(tun->multi_queue());
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETQUEUE, _))
      .WillOnce(Invoke([](int, unsigned long, void* arg) {
        EXPECT_EQ(static_cast<struct ifreq*>(arg)->ifr_flags, IFF_DETACH_QUEUE);
        return 0;
      }))
      .WillOnce(Invoke([](int, unsigned long, void* arg) {
        EXPECT_EQ(static_cast<struct ifreq*>(arg)->ifr_flags, IFF_ATTACH_QUEUE);
        return 0;
      }));
  ASSERT_TRUE(tun->SetQueueAttached(false).ok());
  EXPECT_FALSE(tun->queue_attached());
  EXPECT_CALL(kernel_, read(_, _, _)).Times(0);
  std::vector<uint8_t> storage(100);
  std::vector<MutableByteSpan> bufs = {storage};
  std::vector<size_t> sizes(1);
  auto n = tun->Read(bufs, sizes, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  ASSERT_TRUE(tun->SetQueueAttached(true).ok());
  EXPECT_TRUE(tun->queue_attached());
}

TEST_F(TunLinuxTest, OpenQueueRequiresMultiQueueAndReusesTheRealName) {
  TunOptions o;
  o.name = "mq%d";
  o.multi_queue = true;
  o.owner = 5;
  o.persist = true;
  ExpectOpen();
  ExpectFeatures();
  ExpectSetIff("mq4");
  ExpectGetIff();
  ExpectNonBlock();
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETOWNER, _)).WillOnce(Return(0));
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETPERSIST, _)).WillOnce(Return(0));
  auto tun = LinuxTun::Open(o, kernel_);
  ASSERT_TRUE(tun.ok());
  ::testing::Mock::VerifyAndClearExpectations(&kernel_);

  // The extra queue: same name, no owner/persist/exclusive.
  ExpectOpen();
  ExpectFeatures();
  ExpectSetIff("mq4");
  ExpectGetIff();
  ExpectNonBlock();
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETOWNER, _)).Times(0);
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETPERSIST, _)).Times(0);
  auto queue = (*tun)->OpenQueue();
  ASSERT_TRUE(queue.ok()) << queue.error().message();
  EXPECT_EQ(requested_name_, "mq4");
  EXPECT_EQ(requested_flags_, IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE);
  ::testing::Mock::VerifyAndClearExpectations(&kernel_);

  TunOptions single;
  single.name = "tun0";
  auto single_tun = OpenOk(single, "tun0");
  auto no_queue = single_tun->OpenQueue();
  ASSERT_FALSE(no_queue.ok());
  EXPECT_EQ(no_queue.error().message(), "tun0 is not a multi-queue device");
}

TEST_F(TunLinuxTest, OffloadNeedsVnetHdrAndPassesFlagsByValue) {
  TunOptions o;
  o.name = "tun0";
  auto plain = OpenOk(o, "tun0");
  EXPECT_FALSE(plain->SetOffload(kTunFCsum).ok());
  ::testing::Mock::VerifyAndClearExpectations(&kernel_);

  o.vnet_hdr = true;
  auto tun = OpenOk(o, "tun0");
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETOFFLOAD, reinterpret_cast<void*>(0x07)))
      .WillOnce(Return(0));
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETOFFLOAD, reinterpret_cast<void*>(0x21)))
      .WillOnce(SetErrnoAndReturn(EINVAL, -1));
  EXPECT_TRUE(tun->SetOffload(kTunFCsum | kTunFTso4 | kTunFTso6).ok());
  auto bad = tun->SetOffload(kTunFCsum | kTunFUso4);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "ioctl(TUNSETOFFLOAD 0x21) tun0: Invalid argument");
  EXPECT_CALL(kernel_, ioctl(kFd, TUNSETVNETHDRSZ, _))
      .WillOnce(Invoke([](int, unsigned long, void* a) {
        EXPECT_EQ(*static_cast<int*>(a), 12);
        return 0;
      }));
  EXPECT_TRUE(tun->SetVnetHdrSize(12).ok());
  EXPECT_EQ(tun->vnet_hdr_size(), 12u);
  EXPECT_FALSE(tun->SetVnetHdrSize(8).ok());
}

}  // namespace
}  // namespace tundra::tun

namespace tundra::tun {
namespace {

TEST_F(TunLinuxTest, AdoptLearnsNameAndFlagsFromTheKernel) {
  auto reply = [](uint16_t flags) {
    return Invoke([flags](int, unsigned long, void* arg) {
      auto* ifr = static_cast<struct ifreq*>(arg);
      std::strcpy(ifr->ifr_name, "wg7");
      ifr->ifr_flags = static_cast<short>(flags | IFF_NOFILTER);
      return 0;
    });
  };
  EXPECT_CALL(kernel_, ioctl(kFd, TUNGETIFF, _))
      .WillOnce(reply(IFF_TUN | IFF_VNET_HDR))
      .WillOnce(reply(IFF_TAP))
      .WillOnce(::testing::SetErrnoAndReturn(EBADFD, -1))
      .WillOnce(reply(IFF_TAP))
      .WillOnce(reply(IFF_TUN));
  EXPECT_CALL(kernel_, fcntl(kFd, _, _)).WillRepeatedly(Return(0));
  EXPECT_CALL(kernel_, close(kFd)).Times(5).WillRepeatedly(Return(0));
  auto tun = LinuxTun::Adopt(UniqueFd(kFd, &kernel_), 128, kernel_);
  ASSERT_TRUE(tun.ok()) << tun.error().message();
  EXPECT_EQ((*tun)->name(), "wg7");
  EXPECT_TRUE((*tun)->vnet_hdr());
  EXPECT_FALSE((*tun)->has_pi());
  EXPECT_EQ((*tun)->BatchSize(), 128u);
  tun->reset();
  auto tap = LinuxTun::Adopt(UniqueFd(kFd, &kernel_), 128, kernel_);
  ASSERT_FALSE(tap.ok());
  EXPECT_EQ(tap.error().message(),
            "descriptor 42 is attached to wg7, a TAP device (a TUN is needed)");
  auto bad = LinuxTun::Adopt(UniqueFd(kFd, &kernel_), 128, kernel_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), EBADFD);
  EXPECT_NE(bad.error().message().find("not a descriptor attached to a TUN device"),
            std::string::npos);
  // TAP mode adopts a TAP, and refuses a TUN.
  auto tap_mode = LinuxTun::Adopt(UniqueFd(kFd, &kernel_), 128, kernel_, TunMode::kTap);
  ASSERT_TRUE(tap_mode.ok()) << tap_mode.error().message();
  EXPECT_EQ((*tap_mode)->mode(), TunMode::kTap);
  EXPECT_FALSE((*tap_mode)->has_pi());
  tap_mode->reset();
  auto tun_for_tap = LinuxTun::Adopt(UniqueFd(kFd, &kernel_), 128, kernel_, TunMode::kTap);
  ASSERT_FALSE(tun_for_tap.ok());
  EXPECT_EQ(tun_for_tap.error().message(),
            "descriptor 42 is attached to wg7, a TUN device (a TAP is needed)");
}

}  // namespace
}  // namespace tundra::tun
