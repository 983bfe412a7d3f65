// Link, address, route and rule requests: exact bytes, and the functions that send them run
// against a scripted kernel.
//
// The golden bytes were captured from iproute2 6.1 (`strace -e write=3 ip ...` in a private
// namespace, ifindex 3, seq 0x6b06762b) and are compared with what NetlinkSocket sends for the
// same request, so they check our layout against an independent implementation. Host byte
// order is little-endian (x86-64, aarch64).
#include <gtest/gtest.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "tundra/base/bytes.h"
#include "tundra/netlink/address.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/mock_netlink.h"
#include "tundra/netlink/route.h"

namespace tundra::netlink {
namespace {

routing::IpPrefix P(const char* s) { return *routing::IpPrefix::Parse(s); }

constexpr uint32_t kIproute2Seq = 0x6b06762b;

// A socket whose kernel acknowledges everything and remembers what it was sent.
struct AckAll {
  AckAll() {
    auto t = std::make_unique<FakeTransport>();
    fake = t.get();
    fake->on_request = [](FakeTransport& f, const Message& req) {
      f.Queue(AckMessage(req.seq, 0));
    };
    nl = std::make_unique<NetlinkSocket>(std::move(t), kIproute2Seq);
  }
  std::string SentHex(size_t i = 0) const { return ToHex(fake->sent.at(i)); }
  FakeTransport* fake;
  std::unique_ptr<NetlinkSocket> nl;
};

TEST(RequestBytesTest, AddIpv4AddressMatchesIproute2) {
  // ip address add 198.19.0.1/24 dev tva
  AckAll k;
  ASSERT_TRUE(AddAddress(*k.nl, 3, P("198.19.0.1/24")).ok());
  EXPECT_EQ(k.SentHex(),
            "28000000140005062b76066b00000000"  // len 40, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
            "0218000003000000"                  // AF_INET /24, flags 0, universe, ifindex 3
            "08000200c6130001"                  // IFA_LOCAL 198.19.0.1 (host bits kept)
            "08000100c6130001");                // IFA_ADDRESS
}

TEST(RequestBytesTest, AddIpv6AddressNodadMatchesIproute2) {
  // ip address add fd18::1/64 dev tva nodad
  AckAll k;
  AddressOptions options;
  options.nodad = true;
  ASSERT_TRUE(AddAddress(*k.nl, 3, P("fd18::1/64"), options).ok());
  EXPECT_EQ(k.SentHex(),
            "40000000140005062b76066b00000000"
            "0a40020003000000"  // AF_INET6 /64, IFA_F_NODAD
            "14000200fd180000000000000000000000000001"
            "14000100fd180000000000000000000000000001");
}

TEST(RequestBytesTest, DeleteAddressIsNotExclusive) {
  auto bytes = BuildDeleteAddress(3, P("198.19.0.1/24")).Finish(1);
  auto h = ParseMessages(bytes);
  EXPECT_EQ((*h)[0].type, RTM_DELADDR);
  EXPECT_EQ((*h)[0].flags, 0);
}

TEST(RequestBytesTest, Ipv6RouteWithTableAndMtuMatchesIproute2) {
  // ip -6 route add fd19::/64 dev tva table 51820 mtu 1340
  AckAll k;
  Route r;
  r.dst = P("fd19::7/64");  // host bits cleared on the wire
  r.oif = 3;
  r.table = 51820;
  r.mtu = 1340;
  ASSERT_TRUE(AddRoute(*k.nl, r).ok());
  EXPECT_EQ(k.SentHex(),
            "4c000000180005062b76066b00000000"
            "0a40000000030001"
            "00000000"  // AF_INET6 /64, table 0 (see RTA_TABLE), boot
            "14000100fd190000000000000000000000000000"  // RTA_DST
            "08000f006cca0000"                          // RTA_TABLE 51820
            "0800040003000000"                          // RTA_OIF 3
            "0c000800"
            "080002003c050000");  // RTA_METRICS { RTAX_MTU 1340 }
}

TEST(RequestBytesTest, Ipv4RouteViaGatewayMatchesIproute2) {
  // ip route add 198.19.1.0/24 via 198.19.0.2 dev tva metric 10
  AckAll k;
  Route r;
  r.dst = P("198.19.1.0/24");
  r.gateway = *routing::IpAddress::Parse("198.19.0.2");
  r.oif = 3;
  r.metric = 10;
  ASSERT_TRUE(AddRoute(*k.nl, r).ok());
  EXPECT_EQ(k.SentHex(),
            "3c000000180005062b76066b00000000"
            "02180000fe030001"
            "00000000"            // main table, boot, universe (a gateway), unicast
            "08000100c6130100"    // RTA_DST
            "08000500c6130002"    // RTA_GATEWAY
            "080006000a000000"    // RTA_PRIORITY 10
            "0800040003000000");  // RTA_OIF 3
}

TEST(RequestBytesTest, RouteDeletionMatchesAnyScope) {
  Route r;
  r.dst = P("198.19.1.0/24");
  r.oif = 3;
  auto bytes = BuildDeleteRoute(r).Finish(1);
  auto p = ParsePayload<rtmsg>((*ParseMessages(bytes))[0].payload);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->first.rtm_scope, RT_SCOPE_NOWHERE);
  EXPECT_EQ(p->first.rtm_table, RT_TABLE_MAIN);
  EXPECT_EQ(p->first.rtm_type, RTN_UNSPEC);
  // The add of the same route without a gateway is on-link.
  auto add = BuildAddRoute(r).Finish(1);
  EXPECT_EQ(ParsePayload<rtmsg>((*ParseMessages(add))[0].payload)->first.rtm_scope, RT_SCOPE_LINK);
}

// `ip route get 198.18.0.1 from 198.18.0.2 mark 0x1`: an output lookup (no RTA_IIF) with the
// full-length destination and source; the reply's RTA_OIF is the interface.
TEST(RequestBytesTest, GetRouteAsksForAnOutputLookupAndReadsTheInterface) {
  auto t = std::make_unique<FakeTransport>();
  FakeTransport* fake = t.get();
  fake->on_request = [](FakeTransport& f, const Message& req) {
    rtmsg r{};
    r.rtm_family = AF_INET;
    r.rtm_dst_len = 32;
    r.rtm_table = RT_TABLE_MAIN;
    MessageBuilder reply(RTM_NEWROUTE, 0);
    reply.Family(r);
    const uint8_t dst[4] = {198, 18, 0, 1};
    reply.Attr(RTA_DST, dst, 4);
    reply.U32(RTA_OIF, 7);
    f.Queue(reply.Finish(req.seq));
    f.Queue(AckMessage(req.seq, 0));
  };
  NetlinkSocket nl(std::move(t), kIproute2Seq);
  const auto dst = *routing::IpAddress::Parse("198.18.0.1");
  const auto src = *routing::IpAddress::Parse("198.18.0.2");
  auto route = GetRoute(nl, dst, src, 1);
  ASSERT_TRUE(route.ok()) << route.error().message();
  EXPECT_EQ(route->oif, 7);
  EXPECT_EQ(ToHex(fake->sent.at(0)),
            "340000001a0005002b76066b00000000"  // RTM_GETROUTE, REQUEST|ACK
            "0220200000000000"                  // AF_INET, dst_len 32, src_len 32
            "00000000"                          // rtm_flags
            "08000100c6120001"                  // RTA_DST 198.18.0.1
            "08000200c6120002"                  // RTA_SRC 198.18.0.2
            "0800100001000000");                // RTA_MARK 1
  // A family mix is refused before anything is sent.
  EXPECT_FALSE(GetRoute(nl, dst, *routing::IpAddress::Parse("fd18::1"), 0).ok());
  EXPECT_EQ(fake->sent.size(), 1u);
}

TEST(RequestBytesTest, NotFwmarkRuleMatchesIproute2) {
  // ip -6 rule add not fwmark 51820 table 51820
  AckAll k;
  Rule rule;
  rule.family = AF_INET6;
  rule.invert = true;
  rule.fwmark = 51820;
  rule.table = 51820;
  ASSERT_TRUE(AddRule(*k.nl, rule).ok());
  EXPECT_EQ(k.SentHex(),
            "2c000000200005062b76066b00000000"
            "0a000000"
            "00000001"
            "02000000"            // AF_INET6, table 0 (FRA_TABLE), TO_TBL, INVERT
            "08000a006cca0000"    // FRA_FWMARK 51820
            "08000f006cca0000");  // FRA_TABLE 51820
}

TEST(RequestBytesTest, SuppressPrefixlengthRuleMatchesIproute2) {
  // ip rule add table main suppress_prefixlength 0
  AckAll k;
  Rule rule;
  rule.table = kMainTable;
  rule.suppress_prefixlength = 0;
  ASSERT_TRUE(AddRule(*k.nl, rule).ok());
  EXPECT_EQ(k.SentHex(),
            "24000000200005062b76066b00000000"
            "02000000"
            "fe000001"
            "00000000"            // AF_INET, main table, FR_ACT_TO_TBL
            "08000e0000000000");  // FRA_SUPPRESS_PREFIXLEN 0
}

TEST(RequestBytesTest, VethPairMatchesIproute2) {
  // ip link add va type veth peer name vb
  AckAll k;
  ASSERT_TRUE(CreateVethPair(*k.nl, "va", "vb").ok());
  EXPECT_EQ(k.SentHex(),
            "54000000100005062b76066b00000000"
            "00000000000000000000000000000000"  // ifinfomsg
            "0700030076610000"                  // IFLA_IFNAME "va"
            "2c001200"                          // IFLA_LINKINFO (44)
            "0800010076657468"                  //   IFLA_INFO_KIND "veth"
            "20000200"                          //   IFLA_INFO_DATA (32)
            "1c000100"                          //     VETH_INFO_PEER (28)
            "00000000000000000000000000000000"  //       ifinfomsg
            "0700030076620000");                //       IFLA_IFNAME "vb"
}

TEST(RequestBytesTest, VethPeerInAnotherNamespace) {
  auto bytes = BuildNewVeth("va", "vb", 9).Finish(1);
  auto msgs = ParseMessages(bytes);
  auto link = ParsePayload<ifinfomsg>((*msgs)[0].payload);
  auto info = ParseAttrs(FindAttr(link->second, IFLA_LINKINFO)->data);
  auto data = ParseAttrs(FindAttr(*info, IFLA_INFO_DATA)->data);
  auto peer = ParsePayload<ifinfomsg>(FindAttr(*data, VETH_INFO_PEER)->data);
  ASSERT_TRUE(peer.ok());
  EXPECT_EQ(FindAttr(peer->second, IFLA_IFNAME)->Str(), "vb");
  EXPECT_EQ(FindAttr(peer->second, IFLA_NET_NS_FD)->AsU32(), 9u);
  EXPECT_EQ(FindAttr(link->second, IFLA_NET_NS_FD), nullptr);  // only the peer moves
}

TEST(RequestBytesTest, LinkMtuByIndexMatchesIproute2AndByNameCarriesTheName) {
  // ip link set tva mtu 1400
  AckAll k;
  ASSERT_TRUE(SetLinkMtu(*k.nl, 3, 1400).ok());
  EXPECT_EQ(k.SentHex(),
            "28000000100005002b76066b00000000"
            "00000000030000000000000000000000"
            "0800040078050000");  // IFLA_MTU 1400
  ASSERT_TRUE(SetLinkMtu(*k.nl, "tva", 1400).ok());
  EXPECT_EQ(k.SentHex(1),
            "30000000100005002c76066b00000000"
            "00000000000000000000000000000000"  // ifindex 0: looked up by name
            "0800030074766100"                  // IFLA_IFNAME "tva"
            "0800040078050000");
  EXPECT_FALSE(SetLinkMtu(*k.nl, "tva", 0).ok());
  EXPECT_EQ(k.fake->sent.size(), 2u);  // refused before sending
}

TEST(RequestBytesTest, LinkUpDownDeleteAndMove) {
  const auto up_bytes = BuildSetLinkUp(5, true).Finish(1);
  auto up = ParsePayload<ifinfomsg>((*ParseMessages(up_bytes))[0].payload);
  EXPECT_EQ(up->first.ifi_flags, unsigned(IFF_UP));
  EXPECT_EQ(up->first.ifi_change, unsigned(IFF_UP));
  EXPECT_EQ(up->first.ifi_index, 5);
  auto down = BuildSetLinkUp(5, false).Finish(1);
  auto d = ParsePayload<ifinfomsg>((*ParseMessages(down))[0].payload);
  EXPECT_EQ(d->first.ifi_flags, 0u);
  EXPECT_EQ(d->first.ifi_change, unsigned(IFF_UP));
  // ip link del vb (by index 4)
  EXPECT_EQ(ToHex(BuildDeleteLink(4).Finish(kIproute2Seq)),
            "20000000110000002b76066b00000000"
            "00000000040000000000000000000000");
  auto move = BuildMoveToNetns("tvy1", 11).Finish(1);
  auto m = ParsePayload<ifinfomsg>((*ParseMessages(move))[0].payload);
  EXPECT_EQ(FindAttr(m->second, IFLA_IFNAME)->Str(), "tvy1");
  EXPECT_EQ(FindAttr(m->second, IFLA_NET_NS_FD)->AsU32(), 11u);
}

TEST(RequestBytesTest, InvalidNamesAreRefusedBeforeSending) {
  AckAll k;
  EXPECT_EQ(CreateVethPair(*k.nl, "this-name-is-too-long", "vb").error().code(), EINVAL);
  EXPECT_FALSE(CreateVethPair(*k.nl, "va", "").ok());
  EXPECT_FALSE(CreateVethPair(*k.nl, "a/b", "vb").ok());
  EXPECT_FALSE(RenameLink(*k.nl, 3, "x y").ok());
  EXPECT_TRUE(k.fake->sent.empty());
  EXPECT_TRUE(ValidateLinkName("fifteen-bytes-x").ok());
}

}  // namespace
}  // namespace tundra::netlink
