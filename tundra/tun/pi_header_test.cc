#include "tundra/tun/pi_header.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace tundra::tun {
namespace {

TEST(PiHeaderTest, EncodeLayoutIsHostOrderFlagsThenBigEndianProto) {
  uint8_t out[kPiHeaderSize];
  EncodePi(PacketInfo{0x0001, kEtherTypeIpv6}, out);
  uint16_t flags;
  std::memcpy(&flags, out, 2);  // struct tun_pi.flags is __u16 (host order)
  EXPECT_EQ(flags, 0x0001);
  EXPECT_EQ(out[2], 0x86);  // proto is __be16
  EXPECT_EQ(out[3], 0xDD);
}

TEST(PiHeaderTest, DecodeRoundTrip) {
  for (uint16_t flags : {0, 1, 0x1234}) {
    for (uint16_t proto : {kEtherTypeIpv4, kEtherTypeIpv6, kEtherTypeArp, uint16_t{0x88cc}}) {
      uint8_t buf[kPiHeaderSize];
      EncodePi({flags, proto}, buf);
      EXPECT_EQ(DecodePi(buf), (PacketInfo{flags, proto}));
    }
  }
}

TEST(PiHeaderTest, DecodeKnownBytes) {
  const uint8_t ipv4[] = {0, 0, 0x08, 0x00};
  auto pi = ParsePi(ipv4);
  ASSERT_TRUE(pi.has_value());
  EXPECT_EQ(pi->flags, 0);
  EXPECT_EQ(pi->proto, 0x0800);
  const uint8_t short_hdr[] = {0, 0, 0x08};
  EXPECT_FALSE(ParsePi(short_hdr).has_value());
}

TEST(PiHeaderTest, EtherTypeOfIpPacket) {
  const uint8_t v4[] = {0x45, 0};
  const uint8_t v6[] = {0x60, 0};
  const uint8_t junk[] = {0x10};
  EXPECT_EQ(EtherTypeOfIpPacket(v4), kEtherTypeIpv4);
  EXPECT_EQ(EtherTypeOfIpPacket(v6), kEtherTypeIpv6);
  EXPECT_EQ(EtherTypeOfIpPacket(junk), 0);
  EXPECT_EQ(EtherTypeOfIpPacket({}), 0);
}

TEST(PiHeaderTest, EtherTypeOfFrame) {
  std::vector<uint8_t> frame(14, 0xff);
  frame[12] = 0x08;
  frame[13] = 0x06;
  EXPECT_EQ(EtherTypeOfFrame(frame), kEtherTypeArp);
  frame.resize(13);
  EXPECT_EQ(EtherTypeOfFrame(frame), 0);
}

}  // namespace
}  // namespace tundra::tun
