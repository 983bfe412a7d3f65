// System tests of LinuxTun against the real kernel: TUN and TAP creation (sysfs flags), reading
// what the kernel routes into a TUN (with and without PI), writing packets the kernel answers,
// IPv6, the virtio-net header path, multiqueue attach/detach, and interface deletion.
//
// Runs as root in a private network and mount namespace: ctest starts it through
// tun_netns_run.sh (unshare --net --mount, sysfs remounted so /sys/class/net shows this
// namespace). Addresses: 198.19.0.0/16 and fd19::/16 only.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tundra/base/bytes.h"
#include "tundra/base/unique_fd.h"
#include "tundra/testing/test_util.h"
#include "tundra/tun/manage.h"
#include "tundra/tun/sysfs.h"
#include "tundra/tun/tun_linux.h"
#include "tundra/tun/vnet_hdr.h"

namespace tundra::tun {
namespace {

constexpr size_t kOff = kWriteHeadroom;
using Addr4 = std::array<uint8_t, 4>;
using Addr6 = std::array<uint8_t, 16>;

Addr4 V4(const char* text) {
  Addr4 a{};
  EXPECT_EQ(inet_pton(AF_INET, text, a.data()), 1) << text;
  return a;
}
Addr6 V6(const char* text) {
  Addr6 a{};
  EXPECT_EQ(inet_pton(AF_INET6, text, a.data()), 1) << text;
  return a;
}

int Sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

class TunNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TUNDRA_REQUIRE_TUN_ACCESS();
    // Never touch the root namespace: insist on the private one ctest gives us.
    if (!::tundra::testing::InRecordedPrivateNetns()) {
      GTEST_SKIP() << "not in a private network namespace (run through tun_netns_run.sh)";
    }
  }

  std::unique_ptr<LinuxTun> Open(const std::string& name, TunMode mode, bool no_pi,
                                 bool vnet_hdr = false, bool multi_queue = false) {
    TunOptions o;
    o.name = name;
    o.mode = mode;
    o.no_pi = no_pi;
    o.vnet_hdr = vnet_hdr;
    o.multi_queue = multi_queue;
    auto tun = LinuxTun::Open(o);
    EXPECT_TRUE(tun.ok()) << tun.error().message();
    return tun.ok() ? std::move(tun).value() : nullptr;
  }

  // A TUN with 198.19.1.1/24 (+ fd19:1::1/64) that is up.
  std::unique_ptr<LinuxTun> OpenUpTun(const std::string& name, bool no_pi, bool vnet = false) {
    auto tun = Open(name, TunMode::kTun, no_pi, vnet);
    if (tun == nullptr) return nullptr;
    EXPECT_EQ(Sh("ip addr add 198.19.1.1/24 dev " + name), 0);
    EXPECT_EQ(Sh("ip addr add fd19:1::1/64 dev " + name + " nodad"), 0);
    EXPECT_EQ(Sh("ip link set " + name + " up"), 0);
    return tun;
  }
};

struct Packet {
  std::vector<uint8_t> bytes;
  PacketInfo info;
};

// Reads from `tun` until a packet satisfies `match` (others are skipped: IPv6 router
// solicitations, MLD reports, ...).
std::optional<Packet> ReadUntil(LinuxTun& tun, const std::function<bool(ByteSpan)>& match,
                                int timeout_ms = 3000) {
  constexpr size_t kBatch = 8, kSize = 4096;
  std::vector<uint8_t> storage(kBatch * kSize);
  std::vector<MutableByteSpan> bufs;
  for (size_t i = 0; i < kBatch; ++i) bufs.emplace_back(storage.data() + i * kSize, kSize);
  std::vector<size_t> sizes(kBatch);
  std::vector<PacketInfo> info(kBatch);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    struct pollfd p = {tun.poll_fd(), POLLIN, 0};
    ::poll(&p, 1, 50);
    auto n = tun.Read(bufs, sizes, kOff, info);
    if (!n.ok()) {
      ADD_FAILURE() << n.error().message();
      return std::nullopt;
    }
    for (size_t i = 0; i < *n; ++i) {
      ByteSpan pkt(bufs[i].data() + kOff, sizes[i]);
      if (match(pkt)) return Packet{std::vector<uint8_t>(pkt.begin(), pkt.end()), info[i]};
    }
  }
  return std::nullopt;
}

// Reads from `tun` until `count` packets satisfy `match` (or the timeout); returns them in order.
std::vector<std::vector<uint8_t>> ReadAll(LinuxTun& tun, const std::function<bool(ByteSpan)>& match,
                                          size_t count, int timeout_ms = 3000) {
  constexpr size_t kBatch = 8, kSize = 4096;
  std::vector<uint8_t> storage(kBatch * kSize);
  std::vector<MutableByteSpan> bufs;
  for (size_t i = 0; i < kBatch; ++i) bufs.emplace_back(storage.data() + i * kSize, kSize);
  std::vector<size_t> sizes(kBatch);
  std::vector<std::vector<uint8_t>> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    struct pollfd p = {tun.poll_fd(), POLLIN, 0};
    ::poll(&p, 1, 50);
    auto n = tun.Read(bufs, sizes, kOff);
    if (!n.ok()) {
      ADD_FAILURE() << n.error().message();
      break;
    }
    for (size_t i = 0; i < *n; ++i) {
      ByteSpan pkt(bufs[i].data() + kOff, sizes[i]);
      if (match(pkt)) out.emplace_back(pkt.begin(), pkt.end());
    }
  }
  return out;
}

// --- packet builders (checksums via vnet_hdr.h's helpers) ---

// IPv4 header + ICMP echo (type 8 request / 0 reply), with kOff bytes of headroom in front.
std::vector<uint8_t> Icmp4Echo(Addr4 src, Addr4 dst, uint8_t type, uint16_t id, uint16_t seq,
                               ByteSpan payload) {
  const size_t total = 20 + 8 + payload.size();
  std::vector<uint8_t> buf(kOff + total, 0);
  uint8_t* ip = buf.data() + kOff;
  ip[0] = 0x45;
  StoreBe16(ip + 2, uint16_t(total));
  ip[8] = 64;
  ip[9] = IPPROTO_ICMP;
  std::memcpy(ip + 12, src.data(), 4);
  std::memcpy(ip + 16, dst.data(), 4);
  StoreBe16(ip + 10, Checksum(ByteSpan(ip, 20)));
  uint8_t* icmp = ip + 20;
  icmp[0] = type;
  StoreBe16(icmp + 4, id);
  StoreBe16(icmp + 6, seq);
  std::memcpy(icmp + 8, payload.data(), payload.size());
  StoreBe16(icmp + 2, Checksum(ByteSpan(icmp, 8 + payload.size())));
  return buf;
}

// IPv6 header + ICMPv6 echo (128 request / 129 reply), with kOff bytes of headroom.
std::vector<uint8_t> Icmp6Echo(Addr6 src, Addr6 dst, uint8_t type, uint16_t id, uint16_t seq,
                               ByteSpan payload) {
  const size_t l4 = 8 + payload.size();
  std::vector<uint8_t> buf(kOff + 40 + l4, 0);
  uint8_t* ip = buf.data() + kOff;
  ip[0] = 0x60;
  StoreBe16(ip + 4, uint16_t(l4));
  ip[6] = IPPROTO_ICMPV6;
  ip[7] = 64;
  std::memcpy(ip + 8, src.data(), 16);
  std::memcpy(ip + 24, dst.data(), 16);
  uint8_t* icmp = ip + 40;
  icmp[0] = type;
  StoreBe16(icmp + 4, id);
  StoreBe16(icmp + 6, seq);
  std::memcpy(icmp + 8, payload.data(), payload.size());
  StoreBe16(icmp + 2,
            Checksum(ByteSpan(icmp, l4), PseudoHeaderSum(src, dst, IPPROTO_ICMPV6, uint32_t(l4))));
  return buf;
}

bool IsIcmp4(ByteSpan p, Addr4 src, Addr4 dst, uint8_t type) {
  return p.size() >= 28 && (p[0] >> 4) == 4 && p[9] == IPPROTO_ICMP &&
         std::memcmp(&p[12], src.data(), 4) == 0 && std::memcmp(&p[16], dst.data(), 4) == 0 &&
         p[(p[0] & 0xf) * 4] == type;
}

bool IsIcmp6(ByteSpan p, Addr6 src, Addr6 dst, uint8_t type) {
  return p.size() >= 48 && (p[0] >> 4) == 6 && p[6] == IPPROTO_ICMPV6 &&
         std::memcmp(&p[8], src.data(), 16) == 0 && std::memcmp(&p[24], dst.data(), 16) == 0 &&
         p[40] == type;
}

// Sends an ICMP echo request through the kernel stack (a raw-socket ping).
void KernelPing4(const char* dst, uint16_t id, uint16_t seq) {
  UniqueFd s(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
  ASSERT_TRUE(s.valid()) << std::strerror(errno);
  uint8_t icmp[8 + 4] = {8, 0, 0, 0, 0, 0, 0, 0, 't', 'u', 'n', '!'};
  StoreBe16(icmp + 4, id);
  StoreBe16(icmp + 6, seq);
  StoreBe16(icmp + 2, Checksum(icmp));
  struct sockaddr_in to = {};
  to.sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, dst, &to.sin_addr), 1);
  ASSERT_EQ(::sendto(s.get(), icmp, sizeof(icmp), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
            ssize_t(sizeof(icmp)))
      << std::strerror(errno);
}

void KernelPing6(const char* dst, uint16_t id) {
  UniqueFd s(::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6));
  ASSERT_TRUE(s.valid()) << std::strerror(errno);
  uint8_t icmp[8] = {128, 0, 0, 0, 0, 0, 0, 1};  // the kernel fills in the ICMPv6 checksum
  StoreBe16(icmp + 4, id);
  struct sockaddr_in6 to = {};
  to.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, dst, &to.sin6_addr), 1);
  ASSERT_EQ(::sendto(s.get(), icmp, sizeof(icmp), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
            ssize_t(sizeof(icmp)))
      << std::strerror(errno);
}

std::string SysfsFlags(const std::string& name) {
  auto v = ReadNetAttr(kSysClassNet, name, "tun_flags");
  return v.ok() ? *v : "(" + v.error().message() + ")";
}

TEST_F(TunNetnsTest, CreatesTunAndTapWithTheRequestedFlags) {
  {
    auto tun = Open("tt0", TunMode::kTun, /*no_pi=*/true);
    ASSERT_NE(tun, nullptr);
    auto tap = Open("tp%d", TunMode::kTap, /*no_pi=*/false, /*vnet_hdr=*/true);
    ASSERT_NE(tap, nullptr);
    EXPECT_EQ(tap->name(), "tp0");
    EXPECT_EQ(SysfsFlags("tt0"), "0x1001");  // IFF_TUN | IFF_NO_PI
    EXPECT_EQ(SysfsFlags("tp0"), "0x4002");  // IFF_TAP | IFF_VNET_HDR
    EXPECT_EQ(tun->flags(), 0x1001);
    EXPECT_EQ(tap->flags(), 0x4002);
    auto info = GetTunDevice("tp0");
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_EQ(info->mode, TunMode::kTap);
    EXPECT_TRUE(info->vnet_hdr);
    EXPECT_FALSE(info->persist);
    // The other mode on an existing name is explained.
    TunOptions wrong;
    wrong.name = "tp0";
    auto clash = LinuxTun::Open(wrong);
    ASSERT_FALSE(clash.ok());
    EXPECT_EQ(clash.error().message(), "tp0 exists and is a TAP device, not TUN");
    // A single-queue device accepts one open file.
    TunOptions again;
    again.name = "tt0";
    auto busy = LinuxTun::Open(again);
    ASSERT_FALSE(busy.ok());
    EXPECT_EQ(busy.error().code(), EBUSY);
  }
  // Not persistent: closing the fds removed them.
  EXPECT_FALSE(NetDeviceExists(kSysClassNet, "tt0"));
  EXPECT_FALSE(NetDeviceExists(kSysClassNet, "tp0"));
}

class TunPiTest : public TunNetnsTest, public ::testing::WithParamInterface<bool> {};

TEST_P(TunPiTest, KernelPingIsReadFromTheFd) {
  const bool no_pi = GetParam();
  auto tun = OpenUpTun("tpi0", no_pi);
  ASSERT_NE(tun, nullptr);
  KernelPing4("198.19.1.2", 0x1234, 1);
  auto got = ReadUntil(*tun, [](ByteSpan p) {
    return IsIcmp4(p, V4("198.19.1.1"), V4("198.19.1.2"), 8) && LoadBe16(&p[24]) == 0x1234;
  });
  ASSERT_TRUE(got.has_value()) << "no echo request on the TUN";
  EXPECT_EQ(got->bytes.size(), 20u + 12u);
  EXPECT_EQ(got->info.proto, no_pi ? 0 : kEtherTypeIpv4);
  EXPECT_EQ(got->info.flags, 0);
  EXPECT_EQ(tun->drops().Total(), 0u);
}

TEST_P(TunPiTest, InjectedEchoRequestIsAnsweredByTheKernel) {
  const bool no_pi = GetParam();
  auto tun = OpenUpTun("tpi1", no_pi);
  ASSERT_NE(tun, nullptr);
  const uint8_t payload[] = {'h', 'e', 'l', 'l', 'o', 0, 1, 2};
  auto req = Icmp4Echo(V4("198.19.1.2"), V4("198.19.1.1"), 8, 0x4242, 7, payload);
  std::vector<MutableByteSpan> bufs = {req};
  auto n = tun->Write(bufs, kOff);
  ASSERT_TRUE(n.ok()) << n.error().message();
  ASSERT_EQ(*n, 1u) << tun->drops().ToString();
  auto reply = ReadUntil(*tun, [](ByteSpan p) {
    return IsIcmp4(p, V4("198.19.1.1"), V4("198.19.1.2"), 0) && LoadBe16(&p[24]) == 0x4242;
  });
  ASSERT_TRUE(reply.has_value()) << "no echo reply from the kernel";
  EXPECT_EQ(LoadBe16(&reply->bytes[26]), 7);
  EXPECT_EQ(std::vector<uint8_t>(reply->bytes.begin() + 28, reply->bytes.end()),
            std::vector<uint8_t>(std::begin(payload), std::end(payload)));
  EXPECT_EQ(Checksum(ByteSpan(reply->bytes).subspan(20)), 0) << "ICMP checksum verifies";
  EXPECT_EQ(reply->info.proto, no_pi ? 0 : kEtherTypeIpv4);
}

TEST_P(TunPiTest, RealPingIsAnsweredFromUserSpace) {
  const bool no_pi = GetParam();
  auto tun = OpenUpTun("tpi2", no_pi);
  ASSERT_NE(tun, nullptr);
  std::atomic<bool> done{false};
  int ping_status = -1;
  std::thread ping([&] {
    ping_status = std::system("ping -n -c 3 -i 0.2 -w 5 -q 198.19.1.2 >/dev/null 2>&1");
    done = true;
  });
  int answered = 0;
  while (!done) {
    auto req = ReadUntil(
        *tun, [](ByteSpan p) { return IsIcmp4(p, V4("198.19.1.1"), V4("198.19.1.2"), 8); }, 200);
    if (!req) continue;
    std::vector<uint8_t> buf(kOff + req->bytes.size());
    std::memcpy(buf.data() + kOff, req->bytes.data(), req->bytes.size());
    uint8_t* ip = buf.data() + kOff;
    std::swap_ranges(ip + 12, ip + 16, ip + 16);  // swap source and destination
    uint8_t* icmp = ip + 20;
    icmp[0] = 0;  // echo reply
    StoreBe16(icmp + 2, 0);
    StoreBe16(icmp + 2, Checksum(ByteSpan(icmp, req->bytes.size() - 20)));
    std::vector<MutableByteSpan> bufs = {buf};
    auto n = tun->Write(bufs, kOff);
    ASSERT_TRUE(n.ok() && *n == 1) << tun->drops().ToString();
    ++answered;
  }
  ping.join();
  EXPECT_EQ(ping_status, 0) << "ping did not get its 3 replies";
  EXPECT_GE(answered, 3);
}

INSTANTIATE_TEST_SUITE_P(PiAndNoPi, TunPiTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "NoPi" : "WithPi"; });

TEST_F(TunNetnsTest, Ipv6PingOutAndEchoBack) {
  for (bool no_pi : {true, false}) {
    SCOPED_TRACE(no_pi ? "no_pi" : "pi");
    const std::string name = no_pi ? "t6a" : "t6b";
    auto tun = OpenUpTun(name, no_pi);
    ASSERT_NE(tun, nullptr);
    // Each iteration's TUN (and its fd19:1::1/64) is gone before the next one is created.
    KernelPing6("fd19:1::2", 0x0606);
    auto out = ReadUntil(*tun, [](ByteSpan p) {
      return IsIcmp6(p, V6("fd19:1::1"), V6("fd19:1::2"), 128) && LoadBe16(&p[44]) == 0x0606;
    });
    ASSERT_TRUE(out.has_value()) << "no ICMPv6 echo request on the TUN";
    EXPECT_EQ(out->info.proto, no_pi ? 0 : kEtherTypeIpv6);

    const uint8_t payload[] = {6, 6, 6};
    auto req = Icmp6Echo(V6("fd19:1::2"), V6("fd19:1::1"), 128, 0x6666, 3, payload);
    std::vector<MutableByteSpan> bufs = {req};
    auto n = tun->Write(bufs, kOff);
    ASSERT_TRUE(n.ok() && *n == 1) << tun->drops().ToString();
    auto reply = ReadUntil(*tun, [](ByteSpan p) {
      return IsIcmp6(p, V6("fd19:1::1"), V6("fd19:1::2"), 129) && LoadBe16(&p[44]) == 0x6666;
    });
    ASSERT_TRUE(reply.has_value()) << "no ICMPv6 echo reply from the kernel";
    EXPECT_EQ(reply->info.proto, no_pi ? 0 : kEtherTypeIpv6);
  }
}

TEST_F(TunNetnsTest, VnetHdrCompletesChecksumsAndSplitsGso) {
  auto tun = OpenUpTun("tv0", /*no_pi=*/true, /*vnet=*/true);
  ASSERT_NE(tun, nullptr);
  ASSERT_TRUE(tun->vnet_hdr());
  // With TUN_F_CSUM the kernel hands over CHECKSUM_PARTIAL packets; Read must finish them.
  Status offload = tun->SetOffload(kTunFCsum | kTunFUso4 | kTunFUso6);
  const bool uso = offload.ok();
  if (!uso) {
    ASSERT_TRUE(tun->SetOffload(kTunFCsum).ok());
  }

  UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(udp.valid());
  struct sockaddr_in to = {};
  to.sin_family = AF_INET;
  to.sin_port = htons(9999);
  ASSERT_EQ(inet_pton(AF_INET, "198.19.1.2", &to.sin_addr), 1);
  std::vector<uint8_t> data(300);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 13);
  ASSERT_EQ(::sendto(udp.get(), data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof(to)),
            ssize_t(data.size()));
  auto got = ReadUntil(*tun, [](ByteSpan p) {
    return p.size() >= 28 && p[9] == IPPROTO_UDP && LoadBe16(&p[22]) == 9999;
  });
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->bytes.size(), 28u + data.size());
  const ByteSpan pkt(got->bytes);
  const uint64_t pseudo = PseudoHeaderSum(pkt.subspan(12, 4), pkt.subspan(16, 4), IPPROTO_UDP,
                                          uint32_t(8 + data.size()));
  EXPECT_NE(LoadBe16(&pkt[26]), 0);
  EXPECT_EQ(Checksum(pkt.subspan(20), pseudo), 0) << "UDP checksum completed";

  if (uso) {
    // A UDP GSO super-packet (4 x 1000 bytes, the last 500) comes out as four datagrams with
    // their own lengths and complete checksums.
    const int segment = 1000;
    ASSERT_EQ(::setsockopt(udp.get(), SOL_UDP, UDP_SEGMENT, &segment, sizeof(segment)), 0);
    std::vector<uint8_t> big(3500);
    for (size_t i = 0; i < big.size(); ++i) big[i] = uint8_t(i * 7 + i / 256);
    ASSERT_EQ(::sendto(udp.get(), big.data(), big.size(), 0, reinterpret_cast<sockaddr*>(&to),
                       sizeof(to)),
              ssize_t(big.size()));
    std::vector<std::vector<uint8_t>> segs = ReadAll(
        *tun,
        [](ByteSpan p) {
          return p.size() > 28 + 300 && p[9] == IPPROTO_UDP && LoadBe16(&p[22]) == 9999;
        },
        4);
    ASSERT_EQ(segs.size(), 4u);
    std::vector<uint8_t> joined;
    for (size_t seg = 0; seg < 4; ++seg) {
      const ByteSpan s(segs[seg]);
      ASSERT_EQ(s.size(), 28u + (seg < 3 ? 1000u : 500u));
      EXPECT_EQ(Checksum(s.first(20)), 0);
      EXPECT_EQ(LoadBe16(&s[24]), s.size() - 20);
      EXPECT_EQ(Checksum(s.subspan(20), PseudoHeaderSum(s.subspan(12, 4), s.subspan(16, 4),
                                                        IPPROTO_UDP, uint32_t(s.size() - 20))),
                0);
      joined.insert(joined.end(), s.begin() + 28, s.end());
    }
    EXPECT_EQ(joined, big);
    EXPECT_EQ(tun->offloads().super_packets_read, 1u);
    EXPECT_EQ(tun->drops().Total(), 0u) << tun->drops().ToString();
  }

  // Write with a (zero) virtio-net header in the headroom: the kernel answers the ping.
  const uint8_t payload[] = {1, 2, 3, 4};
  auto req = Icmp4Echo(V4("198.19.1.2"), V4("198.19.1.1"), 8, 0x7777, 1, payload);
  std::vector<MutableByteSpan> bufs = {req};
  auto n = tun->Write(bufs, kOff);
  ASSERT_TRUE(n.ok() && *n == 1) << tun->drops().ToString();
  auto reply = ReadUntil(*tun, [](ByteSpan p) {
    return IsIcmp4(p, V4("198.19.1.1"), V4("198.19.1.2"), 0) && LoadBe16(&p[24]) == 0x7777;
  });
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(Checksum(ByteSpan(reply->bytes).subspan(20)), 0);
}

// --- multiqueue ---

// Sends one UDP datagram to 198.19.2.2:5000 from each of `count` fresh sockets (source ports).
void SendFlows(int count, uint16_t tag) {
  struct sockaddr_in to = {};
  to.sin_family = AF_INET;
  to.sin_port = htons(5000);
  ASSERT_EQ(inet_pton(AF_INET, "198.19.2.2", &to.sin_addr), 1);
  for (int i = 0; i < count; ++i) {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(s.valid());
    uint8_t msg[4];
    StoreBe16(msg, tag);
    StoreBe16(msg + 2, uint16_t(i));
    ASSERT_EQ(::sendto(s.get(), msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              4);
  }
}

// Drains every queue; returns how many of our datagrams (tag) each one had.
std::vector<int> DrainQueues(std::vector<std::unique_ptr<LinuxTun>>& queues, uint16_t tag) {
  std::vector<int> counts(queues.size(), 0);
  std::vector<uint8_t> storage(16 * 2048);
  std::vector<MutableByteSpan> bufs;
  for (size_t i = 0; i < 16; ++i) bufs.emplace_back(storage.data() + i * 2048, 2048);
  std::vector<size_t> sizes(16);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (size_t q = 0; q < queues.size(); ++q) {
    for (;;) {
      auto n = queues[q]->Read(bufs, sizes, 0);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      for (size_t i = 0; i < *n; ++i) {
        const uint8_t* p = bufs[i].data();
        if (sizes[i] >= 32 && p[9] == IPPROTO_UDP && LoadBe16(p + 22) == 5000 &&
            LoadBe16(p + 28) == tag) {
          ++counts[q];
        }
      }
    }
  }
  return counts;
}

TEST_F(TunNetnsTest, MultiQueueDetachedQueueReceivesNothing) {
  constexpr int kQueues = 4, kFlows = 256;
  std::vector<std::unique_ptr<LinuxTun>> queues;
  queues.push_back(Open("mq0", TunMode::kTun, true, false, /*multi_queue=*/true));
  ASSERT_NE(queues[0], nullptr);
  for (int i = 1; i < kQueues; ++i) {
    auto q = queues[0]->OpenQueue();
    ASSERT_TRUE(q.ok()) << q.error().message();
    queues.push_back(std::move(q).value());
  }
  EXPECT_EQ(SysfsFlags("mq0"), "0x1101");
  ASSERT_EQ(Sh("ip addr add 198.19.2.1/24 dev mq0"), 0);
  ASSERT_EQ(Sh("ip link set mq0 up"), 0);

  SendFlows(kFlows, 1);
  std::vector<int> before = DrainQueues(queues, 1);
  int total = 0, busy = 0;
  for (int c : before) total += c, busy += c > 0;
  EXPECT_EQ(total, kFlows);
  EXPECT_GE(busy, 2) << "flows were not spread over the queues";

  // Detach the queue that got the most.
  size_t victim = 0;
  for (size_t q = 0; q < before.size(); ++q) victim = before[q] > before[victim] ? q : victim;
  ASSERT_TRUE(queues[victim]->SetQueueAttached(false).ok());
  SendFlows(kFlows, 2);
  // Ask the kernel directly too: the detached fd has nothing queued.
  uint8_t raw[2048];
  EXPECT_LT(::read(queues[victim]->poll_fd(), raw, sizeof(raw)), 0);
  std::vector<int> detached = DrainQueues(queues, 2);
  total = 0;
  for (int c : detached) total += c;
  EXPECT_EQ(detached[victim], 0);
  EXPECT_EQ(total, kFlows) << "the attached queues got every datagram";

  ASSERT_TRUE(queues[victim]->SetQueueAttached(true).ok());
  SendFlows(kFlows, 3);
  std::vector<int> after = DrainQueues(queues, 3);
  total = 0;
  for (int c : after) total += c;
  EXPECT_EQ(total, kFlows);
  EXPECT_GT(after[victim], 0) << "the re-attached queue receives again";
}

TEST_F(TunNetnsTest, DeletingTheInterfaceFailsReadAndWrite) {
  auto tun = OpenUpTun("tdel0", true);
  ASSERT_NE(tun, nullptr);
  ASSERT_EQ(Sh("ip link del tdel0"), 0);
  struct pollfd p = {tun->poll_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 1000), 1);
  EXPECT_NE(p.revents & POLLERR, 0);
  std::vector<uint8_t> storage(2048);
  std::vector<MutableByteSpan> bufs = {storage};
  std::vector<size_t> sizes(1);
  auto r = tun->Read(bufs, sizes, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "read(tdel0): File descriptor in bad state");
}

}  // namespace
}  // namespace tundra::tun
