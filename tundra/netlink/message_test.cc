// MessageBuilder layout and the parsers' behaviour on hostile input: every malformed length is
// an error, and nothing is read outside the buffer (run under ASan: -DTUNDRA_SANITIZE=address).
#include <gtest/gtest.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <memory>
#include <random>

#include "tundra/base/bytes.h"
#include "tundra/netlink/address.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/route.h"
#include "tundra/netlink/socket.h"

namespace tundra::netlink {
namespace {

TEST(MessageBuilderTest, PadsAttributesAndSetsLengthAndSeq) {
  MessageBuilder m(RTM_NEWLINK, NLM_F_CREATE);
  m.Family(ifinfomsg{}).U8(IFLA_OPERSTATE, 6).String(IFLA_IFNAME, "ab");
  const auto bytes = m.Finish(0x01020304);
  // 16 header + 16 ifinfomsg + (4+1 -> 8) + (4+3 -> 8)
  EXPECT_EQ(ToHex(bytes),
            "30000000100000040403020100000000"
            "00000000000000000000000000000000"
            "0500100006000000"
            "0700030061620000");
  EXPECT_EQ(m.type(), RTM_NEWLINK);
  m.AddFlags(NLM_F_REQUEST | NLM_F_ACK);
  EXPECT_EQ(m.flags(), NLM_F_CREATE | NLM_F_REQUEST | NLM_F_ACK);
}

TEST(MessageBuilderTest, NestedLengthsCoverTheirContents) {
  MessageBuilder m(RTM_NEWROUTE, 0);
  m.Family(rtmsg{});
  const size_t outer = m.BeginNested(RTA_METRICS);
  m.U32(RTAX_MTU, 1280);
  const size_t inner = m.BeginNested(RTAX_CC_ALGO);  // any type: an empty nest is 4 bytes
  m.EndNested(inner).EndNested(outer);
  const auto bytes = m.Finish(1);
  EXPECT_EQ(ToHex(ByteSpan(bytes).subspan(28)),
            "10000800"
            "0800020000050000"
            "04001000");
}

TEST(ParseTest, AttributesRoundTrip) {
  MessageBuilder m(RTM_NEWADDR, 0);
  const uint8_t addr[4] = {198, 19, 0, 1};
  m.Family(ifaddrmsg{}).Attr(IFA_LOCAL, addr, 4).U32(IFA_FLAGS, 0x80).String(IFA_LABEL, "x");
  const auto bytes = m.Finish(5);
  auto msgs = ParseMessages(bytes);
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ((*msgs)[0].type, RTM_NEWADDR);
  EXPECT_EQ((*msgs)[0].seq, 5u);
  auto p = ParsePayload<ifaddrmsg>((*msgs)[0].payload);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->second.size(), 3u);
  EXPECT_EQ(FindAttr(p->second, IFA_LOCAL)->data.size(), 4u);
  EXPECT_EQ(FindAttr(p->second, IFA_FLAGS)->AsU32(), 0x80u);
  EXPECT_FALSE(FindAttr(p->second, IFA_LOCAL)->AsU32().has_value() &&
               FindAttr(p->second, IFA_LOCAL)->AsU8().has_value());
  EXPECT_EQ(FindAttr(p->second, IFA_LABEL)->Str(), "x");
  EXPECT_EQ(FindAttr(p->second, IFA_BROADCAST), nullptr);
}

TEST(ParseTest, HostileMessageLengths) {
  std::vector<uint8_t> m(20, 0);
  nlmsghdr h{};
  h.nlmsg_len = 200;  // more than the buffer
  std::memcpy(m.data(), &h, sizeof(h));
  EXPECT_EQ(ParseMessages(m).error().code(), EBADMSG);
  h.nlmsg_len = 8;  // shorter than its own header (and would loop forever if accepted as 0)
  std::memcpy(m.data(), &h, sizeof(h));
  EXPECT_FALSE(ParseMessages(m).ok());
  h.nlmsg_len = 0;
  std::memcpy(m.data(), &h, sizeof(h));
  EXPECT_FALSE(ParseMessages(m).ok());
  h.nlmsg_len = 0xfffffff0;  // offset arithmetic must not wrap
  std::memcpy(m.data(), &h, sizeof(h));
  EXPECT_FALSE(ParseMessages(m).ok());
  // A valid message followed by a partial header.
  h.nlmsg_len = 16;
  std::memcpy(m.data(), &h, sizeof(h));
  EXPECT_FALSE(ParseMessages(m).ok());
  m.resize(16);
  EXPECT_TRUE(ParseMessages(m).ok());
  EXPECT_TRUE(ParseMessages(ByteSpan()).ok());
}

TEST(ParseTest, HostileAttributeLengths) {
  const std::vector<uint8_t> past_end = {8, 0, 1, 0, 1, 2};
  EXPECT_EQ(ParseAttrs(past_end).error().code(), EBADMSG);
  const std::vector<uint8_t> below_header = {2, 0, 1, 0};
  EXPECT_FALSE(ParseAttrs(below_header).ok());
  const std::vector<uint8_t> zero = {0, 0, 1, 0, 0, 0, 0, 0};
  EXPECT_FALSE(ParseAttrs(zero).ok());
  const std::vector<uint8_t> trailing = {8, 0, 3, 0, 1, 2, 3, 4, 0xff, 0xff};
  EXPECT_FALSE(ParseAttrs(trailing).ok());
  // An unpadded last attribute is fine; its padding would lie past the end.
  const std::vector<uint8_t> unpadded = {5, 0, 3, 0, 'a'};
  auto attrs = ParseAttrs(unpadded);
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ((*attrs)[0].Str(), "a");  // no NUL: stops at the attribute's end
  // The nested flag (NLA_F_NESTED) is masked off the type.
  const std::vector<uint8_t> nested = {4, 0, 0x12, 0x80};
  attrs = ParseAttrs(nested);
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ((*attrs)[0].type, IFLA_LINKINFO);
  // Truncated family header.
  EXPECT_FALSE(ParsePayload<ifinfomsg>(ByteSpan(past_end.data(), 4)).ok());
}

TEST(ParseTest, MalformedKnownAttributesAreErrors) {
  MessageBuilder m(RTM_NEWLINK, 0);
  m.Family(ifinfomsg{}).String(IFLA_IFNAME, "x").Attr(IFLA_MTU, "\x01\x02", 2);
  auto bytes = m.Finish(1);
  auto msgs = ParseMessages(bytes);
  ASSERT_TRUE(msgs.ok());
  auto link = ParseLink((*msgs)[0].payload);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().message().find("IFLA_MTU"), std::string::npos);

  rtmsg r{};
  r.rtm_family = AF_INET;
  r.rtm_dst_len = 24;
  MessageBuilder route(RTM_NEWROUTE, 0);
  route.Family(r).Attr(RTA_DST, "\xc6\x13\x00\x00\x00\x00", 6);  // 6 bytes for IPv4
  bytes = route.Finish(1);
  msgs = ParseMessages(bytes);
  EXPECT_FALSE(ParseRoute((*msgs)[0].payload).ok());

  r.rtm_dst_len = 33;
  MessageBuilder long_prefix(RTM_NEWROUTE, 0);
  long_prefix.Family(r);
  bytes = long_prefix.Finish(1);
  msgs = ParseMessages(bytes);
  EXPECT_FALSE(ParseRoute((*msgs)[0].payload).ok());
}

// Mutated valid messages through every parser: errors are fine, reading out of bounds is not
// (ASan reports it). Each input is copied into an exactly-sized heap buffer.
TEST(ParseTest, MutatedMessagesNeverOverread) {
  Route route;
  route.dst = *routing::IpPrefix::Parse("fd19::/64");
  route.gateway = *routing::IpAddress::Parse("fd19::1");
  route.oif = 3;
  route.table = 51820;
  route.mtu = 1340;
  Rule rule;
  rule.fwmark = 51820;
  rule.table = 51820;
  rule.suppress_prefixlength = 0;
  const std::vector<std::vector<uint8_t>> seeds = {
      BuildNewVeth("va", "vb", 9).Finish(1),
      BuildAddRoute(route).Finish(2),
      BuildAddRule(rule).Finish(3),
      BuildAddAddress(7, *routing::IpPrefix::Parse("198.19.0.1/24")).Finish(4),
  };
  std::mt19937 rng(20241125);
  int parsed_ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> input = seeds[i % seeds.size()];
    const int mutations = 1 + int(rng() % 4);
    for (int k = 0; k < mutations; ++k) {
      switch (rng() % 3) {
        case 0:
          input[rng() % input.size()] = uint8_t(rng());
          break;
        case 1:
          input.resize(rng() % (input.size() + 1));
          break;
        default:
          if (input.size() > 8) input[rng() % 8] = uint8_t(rng() % 64);  // lengths
      }
      if (input.empty()) break;
    }
    auto exact = std::make_unique<uint8_t[]>(input.size() + 1);
    if (!input.empty()) std::memcpy(exact.get(), input.data(), input.size());
    const ByteSpan span(exact.get(), input.size());
    auto msgs = ParseMessages(span);
    if (!msgs.ok()) continue;
    for (const Message& m : *msgs) {
      parsed_ok += ParseLink(m.payload).ok();
      parsed_ok += ParseRoute(m.payload).ok();
      parsed_ok += ParseRule(m.payload).ok();
      parsed_ok += ParseAddress(m.payload).ok();
      parsed_ok += ParseAck(m.payload, m.flags).ok();
      auto attrs = ParseAttrs(m.payload);
      if (attrs.ok()) {
        for (const RtAttr& a : *attrs) parsed_ok += ParseAttrs(a.data).ok();  // as if nested
      }
    }
  }
  EXPECT_GT(parsed_ok, 0);  // the mutations left some inputs valid: the parsers were exercised
}

}  // namespace
}  // namespace tundra::netlink
