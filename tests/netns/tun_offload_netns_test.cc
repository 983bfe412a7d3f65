// LinuxTun's offloads against the real kernel (run with tun_netns_test in its private network
// namespace): packets coalesced by Write() into UDP super-packets (GSO_UDP_L4, Linux 6.2+) are
// accepted by the kernel and delivered to a local socket as the original datagrams, over IPv4
// and IPv6. (TCP super-packets in both directions are exercised by interop.sh's iperf3 runs.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tundra/base/unique_fd.h"
#include "tundra/testing/test_util.h"
#include "tundra/tun/offload_testing.h"
#include "tundra/tun/tun_linux.h"

namespace tundra::tun {
namespace {

using testing::BuildPacket;
using testing::PacketSpec;

int Sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// A UDP socket bound to `addr`:7777 (IPv4 or IPv6).
UniqueFd BoundUdp(bool v6, const char* addr) {
  UniqueFd s(::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(s.valid());
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(7777);
    EXPECT_EQ(inet_pton(AF_INET6, addr, &a->sin6_addr), 1);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(7777);
    EXPECT_EQ(inet_pton(AF_INET, addr, &a->sin_addr), 1);
    len = sizeof(*a);
  }
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len), 0) << std::strerror(errno);
  return s;
}

std::vector<std::vector<uint8_t>> Receive(int fd, size_t count) {
  std::vector<std::vector<uint8_t>> out;
  while (out.size() < count) {
    struct pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) break;
    std::vector<uint8_t> buf(65536);
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) break;
    buf.resize(size_t(n));
    out.push_back(std::move(buf));
  }
  return out;
}

TEST(TunOffloadNetnsTest, CoalescedUdpIsDeliveredAsTheOriginalDatagrams) {
  TUNDRA_REQUIRE_TUN_ACCESS();
  if (!::tundra::testing::InRecordedPrivateNetns()) {
    GTEST_SKIP() << "not in a private network namespace (run through tun_netns_run.sh)";
  }
  TunOptions o;
  o.name = "tgro0";
  o.vnet_hdr = true;
  auto tun = LinuxTun::Open(o);
  ASSERT_TRUE(tun.ok()) << tun.error().message();
  auto flags = (*tun)->EnableOffloads();
  ASSERT_TRUE(flags.ok()) << flags.error().message();
  if ((*flags & kTunFUso4) == 0) GTEST_SKIP() << "kernel without USO (Linux < 6.2)";
  ASSERT_EQ(Sh("ip addr add 198.19.0.1/24 dev tgro0"), 0);
  ASSERT_EQ(Sh("ip addr add fd19::1/64 dev tgro0 nodad"), 0);
  ASSERT_EQ(Sh("ip link set tgro0 up"), 0);
  UniqueFd s4 = BoundUdp(false, "198.19.0.1");
  UniqueFd s6 = BoundUdp(true, "fd19::1");

  // Five datagrams per family from 198.19.0.2 / fd19::2, the last one shorter, interleaved.
  std::vector<std::vector<uint8_t>> packets;
  std::vector<std::vector<uint8_t>> payloads[2];
  for (int i = 0; i < 5; ++i) {
    for (bool v6 : {false, true}) {
      PacketSpec s;
      s.v6 = v6;
      s.tcp = false;
      s.src = 2;
      s.dst = 1;
      s.sport = 5555;
      s.dport = 7777;
      s.ip_id = uint16_t(i);
      s.payload = i < 4 ? 1000 : 321;
      s.fill = uint8_t(i * 50 + v6);
      std::vector<uint8_t> p(kWriteHeadroom, 0);
      std::vector<uint8_t> b = BuildPacket(s);
      payloads[v6].emplace_back(b.end() - long(s.payload), b.end());
      p.insert(p.end(), b.begin(), b.end());
      packets.push_back(std::move(p));
    }
  }
  std::vector<MutableByteSpan> bufs;
  for (auto& p : packets) bufs.emplace_back(p.data(), p.size());
  auto n = (*tun)->Write(bufs, kWriteHeadroom);
  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_EQ(*n, 10u) << (*tun)->drops().ToString();
  EXPECT_EQ((*tun)->offloads().super_packets_written, 2u);
  EXPECT_EQ((*tun)->offloads().packets_coalesced, 10u);
  EXPECT_EQ(Receive(s4.get(), 5), payloads[0]);
  EXPECT_EQ(Receive(s6.get(), 5), payloads[1]);
}

// A persistent device outlives the queue that turned its offloads on: they are turned off again,
// or the next reader without IFF_VNET_HDR would be handed a UDP super-packet as one packet.
TEST(TunOffloadNetnsTest, PersistentDeviceGetsItsOffloadsBackOff) {
  TUNDRA_REQUIRE_TUN_ACCESS();
  if (!::tundra::testing::InRecordedPrivateNetns()) {
    GTEST_SKIP() << "not in a private network namespace (run through tun_netns_run.sh)";
  }
  TunOptions o;
  o.name = "tpoff0";
  o.vnet_hdr = true;
  o.persist = true;
  {
    auto first = LinuxTun::Open(o);
    ASSERT_TRUE(first.ok()) << first.error().message();
    auto flags = (*first)->EnableOffloads();
    ASSERT_TRUE(flags.ok()) << flags.error().message();
    if ((*flags & kTunFUso4) == 0) GTEST_SKIP() << "kernel without USO (Linux < 6.2)";
  }
  o.vnet_hdr = false;
  o.persist = false;
  auto again = LinuxTun::Open(o);
  ASSERT_TRUE(again.ok()) << again.error().message();
  ASSERT_EQ(Sh("ip addr add 198.19.5.1/24 dev tpoff0"), 0);
  ASSERT_EQ(Sh("ip link set tpoff0 up"), 0);
  UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const int segment = 1000;
  ASSERT_EQ(::setsockopt(udp.get(), SOL_UDP, UDP_SEGMENT, &segment, sizeof(segment)), 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9999);
  ASSERT_EQ(inet_pton(AF_INET, "198.19.5.2", &to.sin_addr), 1);
  std::vector<uint8_t> data(3000, 0x42);
  ASSERT_EQ(::sendto(udp.get(), data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof(to)),
            3000);
  std::vector<uint8_t> storage(4 * 70000);
  std::vector<MutableByteSpan> bufs;
  for (size_t i = 0; i < 4; ++i) bufs.emplace_back(storage.data() + i * 70000, 70000);
  std::vector<size_t> sizes(4);
  size_t datagrams = 0;
  for (int tries = 0; tries < 40 && datagrams < 3; ++tries) {
    struct pollfd p = {(*again)->poll_fd(), POLLIN, 0};
    ::poll(&p, 1, 50);
    auto n = (*again)->Read(bufs, sizes, kWriteHeadroom);
    ASSERT_TRUE(n.ok());
    for (size_t i = 0; i < *n; ++i) {
      const uint8_t* pkt = bufs[i].data() + kWriteHeadroom;
      if (sizes[i] < 28 || pkt[9] != IPPROTO_UDP || LoadBe16(pkt + 22) != 9999) continue;
      EXPECT_EQ(sizes[i], 1028u) << "a super-packet reached a reader without IFF_VNET_HDR";
      ++datagrams;
    }
  }
  EXPECT_EQ(datagrams, 3u);
  ASSERT_TRUE((*again)->SetPersist(false).ok());
}

}  // namespace
}  // namespace tundra::tun
