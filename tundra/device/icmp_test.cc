#include "tundra/device/icmp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tundra/tun/vnet_hdr.h"

namespace tundra::device {
namespace {

using tun::Checksum;
using tun::PseudoHeaderSum;

// IPv4 `proto` packet src -> dst with `payload` bytes (first byte `first`).
std::vector<uint8_t> V4(const char* src, const char* dst, uint8_t proto, size_t payload,
                        uint8_t first = 8) {
  std::vector<uint8_t> p(20 + payload, 0);
  p[0] = 0x45;
  StoreBe16(&p[2], uint16_t(p.size()));
  p[8] = 64;
  p[9] = proto;
  inet_pton(AF_INET, src, &p[12]);
  inet_pton(AF_INET, dst, &p[16]);
  StoreBe16(&p[10], Checksum(ByteSpan(p.data(), 20)));
  if (payload > 0) p[20] = first;
  for (size_t i = 1; i < payload; ++i) p[20 + i] = uint8_t(i);
  return p;
}

std::vector<uint8_t> V6(const char* src, const char* dst, uint8_t next, size_t payload,
                        uint8_t first = 128) {
  std::vector<uint8_t> p(40 + payload, 0);
  p[0] = 0x60;
  StoreBe16(&p[4], uint16_t(payload));
  p[6] = next;
  p[7] = 64;
  inet_pton(AF_INET6, src, &p[8]);
  inet_pton(AF_INET6, dst, &p[24]);
  if (payload > 0) p[40] = first;
  for (size_t i = 1; i < payload; ++i) p[40 + i] = uint8_t(i);
  return p;
}

std::vector<uint8_t> Build(const std::vector<uint8_t>& packet) {
  std::vector<uint8_t> out(kMaxIcmpError);
  out.resize(BuildUnreachable(packet, out));
  return out;
}

TEST(IcmpTest, Ipv4HostUnreachableQuotesThePacket) {
  const auto ping = V4("198.19.0.1", "198.19.0.99", 1, 64);
  const auto e = Build(ping);
  ASSERT_EQ(e.size(), 28 + ping.size());
  EXPECT_EQ(Checksum(ByteSpan(e).first(20)), 0);
  EXPECT_EQ(std::memcmp(&e[12], &ping[16], 4), 0) << "from the unreachable destination";
  EXPECT_EQ(std::memcmp(&e[16], &ping[12], 4), 0) << "to the sender";
  EXPECT_EQ(e[9], 1);
  EXPECT_EQ(e[20], 3);  // destination unreachable
  EXPECT_EQ(e[21], 1);  // host unreachable
  EXPECT_EQ(Checksum(ByteSpan(e).subspan(20)), 0);
  EXPECT_EQ(std::vector<uint8_t>(e.begin() + 28, e.end()), ping);
}

TEST(IcmpTest, Ipv4ErrorsStopAt576Bytes) {
  const auto big = V4("198.19.0.1", "198.19.0.99", 17, 1400);
  const auto e = Build(big);
  ASSERT_EQ(e.size(), 576u);
  EXPECT_EQ(Checksum(ByteSpan(e).subspan(20)), 0);
  EXPECT_EQ(std::memcmp(&e[28], big.data(), 548), 0);
}

TEST(IcmpTest, Ipv6AddressUnreachable) {
  const auto ping = V6("fd19::1", "fd19::99", 58, 64);
  const auto e = Build(ping);
  ASSERT_EQ(e.size(), 48 + ping.size());
  EXPECT_EQ(std::memcmp(&e[8], &ping[24], 16), 0);
  EXPECT_EQ(std::memcmp(&e[24], &ping[8], 16), 0);
  EXPECT_EQ(e[6], 58);
  EXPECT_EQ(e[40], 1);
  EXPECT_EQ(e[41], 3);
  const uint64_t pseudo =
      PseudoHeaderSum(ByteSpan(&e[8], 16), ByteSpan(&e[24], 16), 58, uint32_t(e.size() - 40));
  EXPECT_EQ(Checksum(ByteSpan(e).subspan(40), pseudo), 0);
  const auto big = Build(V6("fd19::1", "fd19::99", 17, 3000));
  EXPECT_EQ(big.size(), kMaxIcmpError);
}

TEST(IcmpTest, NoErrorWhereTheRfcsForbidOne) {
  EXPECT_TRUE(Build(V4("198.19.0.1", "198.19.0.99", 1, 36, /*type=*/3)).empty());  // an error
  EXPECT_TRUE(Build(V4("198.19.0.1", "198.19.0.99", 1, 36, /*type=*/11)).empty());
  EXPECT_TRUE(Build(V4("198.19.0.1", "224.0.0.5", 17, 8)).empty());        // multicast
  EXPECT_TRUE(Build(V4("198.19.0.1", "255.255.255.255", 17, 8)).empty());  // broadcast
  EXPECT_TRUE(Build(V4("0.0.0.0", "198.19.0.99", 17, 8)).empty());         // unspecified
  auto frag = V4("198.19.0.1", "198.19.0.99", 17, 8);
  StoreBe16(&frag[6], 0x0010);  // fragment offset 128
  EXPECT_TRUE(Build(frag).empty());
  auto lying = V4("198.19.0.1", "198.19.0.99", 17, 8);
  StoreBe16(&lying[2], 100);  // longer than the bytes
  EXPECT_TRUE(Build(lying).empty());
  EXPECT_TRUE(Build(V6("fd19::1", "ff02::1", 58, 8)).empty());
  EXPECT_TRUE(Build(V6("::", "fd19::99", 58, 8)).empty());
  EXPECT_TRUE(Build(V6("fd19::1", "fd19::99", 58, 8, /*type=*/1)).empty());  // an ICMPv6 error
  EXPECT_TRUE(Build({0x45, 0, 0}).empty());
  EXPECT_TRUE(Build({}).empty());
  // An ICMP echo request (type 8) and ICMPv6 echo (128) do get one.
  EXPECT_FALSE(Build(V4("198.19.0.1", "198.19.0.99", 1, 8, 8)).empty());
  EXPECT_FALSE(Build(V6("fd19::1", "fd19::99", 58, 8, 128)).empty());
}

}  // namespace
}  // namespace tundra::device
