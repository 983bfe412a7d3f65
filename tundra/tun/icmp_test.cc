#include "tundra/tun/icmp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tundra/tun/vnet_hdr.h"

namespace tundra::tun {
namespace {

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

std::vector<uint8_t> TooBig(const std::vector<uint8_t>& packet, size_t mtu) {
  std::vector<uint8_t> out(kMaxIcmpError);
  out.resize(BuildTooBig(packet, mtu, out));
  return out;
}

TEST(IcmpTest, Ipv4FragmentationNeededCarriesTheMtuAndQuotes548Bytes) {
  auto big = V4("198.19.0.1", "198.19.0.99", 6, 1380);  // 1400 bytes, TCP
  StoreBe16(&big[6], 0x4000);                           // DF
  StoreBe16(&big[10], 0);
  StoreBe16(&big[10], Checksum(ByteSpan(big.data(), 20)));
  const auto e = TooBig(big, 1280);
  ASSERT_EQ(e.size(), 576u) << "RFC 1812 4.3.2.3: at most 576 bytes";
  EXPECT_EQ(Checksum(ByteSpan(e).first(20)), 0) << "IP header checksum";
  EXPECT_EQ(LoadBe16(&e[2]), 576);
  EXPECT_EQ(e[9], 1);
  EXPECT_EQ(std::memcmp(&e[12], &big[16], 4), 0) << "from the destination";
  EXPECT_EQ(std::memcmp(&e[16], &big[12], 4), 0) << "to the sender";
  EXPECT_EQ(e[20], 3);  // destination unreachable
  EXPECT_EQ(e[21], 4);  // fragmentation needed and DF set
  EXPECT_EQ(LoadBe16(&e[24]), 0) << "unused";
  EXPECT_EQ(LoadBe16(&e[26]), 1280) << "RFC 1191 next-hop MTU";
  EXPECT_EQ(Checksum(ByteSpan(e).subspan(20)), 0) << "ICMP checksum";
  EXPECT_EQ(std::vector<uint8_t>(e.begin() + 28, e.end()),
            std::vector<uint8_t>(big.begin(), big.begin() + 548))
      << "the original header and as much data as fits";
  // A small one (an MTU of 100) is quoted whole.
  auto small = V4("198.19.0.1", "198.19.0.99", 17, 200);
  StoreBe16(&small[6], 0x4000);
  const auto s = TooBig(small, 100);
  ASSERT_EQ(s.size(), 28 + small.size());
  EXPECT_EQ(LoadBe16(&s[26]), 100);
  EXPECT_EQ(Checksum(ByteSpan(s).subspan(20)), 0);
  EXPECT_EQ(std::vector<uint8_t>(s.begin() + 28, s.end()), small);
}

TEST(IcmpTest, Ipv4WithoutDontFragmentGetsNoTooBig) {
  auto big = V4("198.19.0.1", "198.19.0.99", 17, 1380);
  EXPECT_TRUE(TooBig(big, 1280).empty()) << "a router would fragment it";
  StoreBe16(&big[6], 0x2000);  // MF only: the first fragment of a larger one, no DF
  EXPECT_TRUE(TooBig(big, 1280).empty());
  StoreBe16(&big[6], 0x4000);
  EXPECT_FALSE(TooBig(big, 1280).empty());
  EXPECT_TRUE(TooBig(big, 65536).empty()) << "an MTU the field cannot carry";
}

TEST(IcmpTest, Ipv6PacketTooBigCarriesTheMtuAndQuotesUpTo1280Bytes) {
  const auto big = V6("fd19::1", "fd19::99", 17, 1400);
  const auto e = TooBig(big, 1280);
  ASSERT_EQ(e.size(), kMaxIcmpError) << "RFC 4443 2.4(c): at most the minimum MTU";
  EXPECT_EQ(e[0] >> 4, 6);
  EXPECT_EQ(LoadBe16(&e[4]), 1280 - 40);
  EXPECT_EQ(e[6], 58);
  EXPECT_EQ(std::memcmp(&e[8], &big[24], 16), 0);
  EXPECT_EQ(std::memcmp(&e[24], &big[8], 16), 0);
  EXPECT_EQ(e[40], 2);  // packet too big
  EXPECT_EQ(e[41], 0);
  EXPECT_EQ(LoadBe32(&e[44]), 1280u);
  const uint64_t pseudo =
      PseudoHeaderSum(ByteSpan(&e[8], 16), ByteSpan(&e[24], 16), 58, uint32_t(e.size() - 40));
  EXPECT_EQ(Checksum(ByteSpan(e).subspan(40), pseudo), 0) << "ICMPv6 checksum";
  EXPECT_EQ(std::vector<uint8_t>(e.begin() + 48, e.end()),
            std::vector<uint8_t>(big.begin(), big.begin() + 1232));
  // IPv6 has no DF: every too-big packet is answered (an echo request too).
  EXPECT_FALSE(TooBig(V6("fd19::1", "fd19::99", 58, 1400, 128), 1280).empty());
}

TEST(IcmpTest, NoTooBigWhereTheRfcsForbidAnError) {
  auto error = V4("198.19.0.1", "198.19.0.99", 1, 1380, /*type=*/3);
  StoreBe16(&error[6], 0x4000);
  EXPECT_TRUE(TooBig(error, 1280).empty()) << "never an error about an error";
  auto multicast = V4("198.19.0.1", "224.0.0.5", 17, 1380);
  StoreBe16(&multicast[6], 0x4000);
  EXPECT_TRUE(TooBig(multicast, 1280).empty());
  EXPECT_TRUE(TooBig(V6("fd19::1", "ff02::1", 17, 1400), 1280).empty());
  EXPECT_TRUE(TooBig(V6("fd19::1", "fd19::99", 58, 1400, /*type=*/1), 1280).empty());
  EXPECT_TRUE(TooBig({0x45, 0, 0}, 1280).empty());
}

}  // namespace
}  // namespace tundra::tun
