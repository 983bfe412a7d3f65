// Lookups, lists and name resolution against a scripted kernel: the request each function
// sends, how it reads the kernel's answers, and how kernel errors are named.
#include <gtest/gtest.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "tundra/base/bytes.h"
#include "tundra/netlink/address.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/mock_netlink.h"
#include "tundra/netlink/route.h"

namespace tundra::netlink {
namespace {

routing::IpPrefix P(const char* s) { return *routing::IpPrefix::Parse(s); }

std::vector<uint8_t> PayloadOf(const MessageBuilder& b) {
  auto bytes = b.Finish(0);
  return std::vector<uint8_t>(bytes.begin() + sizeof(nlmsghdr), bytes.end());
}

// A kernel with two links: lo (1) and tun0 (3).
class FakeKernel {
 public:
  FakeKernel() {
    auto t = std::make_unique<FakeTransport>();
    fake = t.get();
    fake->on_request = [this](FakeTransport& f, const Message& req) { Answer(f, req); };
    nl = std::make_unique<NetlinkSocket>(std::move(t));
  }

  std::vector<std::vector<uint8_t>> addresses, routes, rules;  // dump contents (payloads)
  int add_error = 0;                                           // for RTM_NEW* requests
  std::vector<Message> requests;                               // headers of what was asked
  FakeTransport* fake;
  std::unique_ptr<NetlinkSocket> nl;

 private:
  void Answer(FakeTransport& f, const Message& req) {
    requests.push_back(req);
    switch (req.type) {
      case RTM_GETLINK: {
        auto p = ParsePayload<ifinfomsg>(req.payload);
        const RtAttr* name = FindAttr(p->second, IFLA_IFNAME);
        if (p->first.ifi_index == 3 || (name && name->Str() == "tun0")) {
          f.Queue(
              Datagram({ReplyMessage(RTM_NEWLINK, req.seq,
                                     LinkPayload(3, "tun0", 1420, IFF_UP | IFF_RUNNING, "tun"), 0),
                        AckMessage(req.seq, 0)}));
        } else {
          f.Queue(AckMessage(req.seq, -ENODEV));
        }
        return;
      }
      case RTM_GETADDR:
      case RTM_GETROUTE:
      case RTM_GETRULE: {
        const auto& items = req.type == RTM_GETADDR    ? addresses
                            : req.type == RTM_GETROUTE ? routes
                                                       : rules;
        const uint16_t type = req.type == RTM_GETADDR    ? RTM_NEWADDR
                              : req.type == RTM_GETROUTE ? RTM_NEWROUTE
                                                         : RTM_NEWRULE;
        for (const auto& item : items) f.Queue(ReplyMessage(type, req.seq, item));
        f.Queue(DoneMessage(req.seq));
        return;
      }
      case RTM_DELLINK:
        f.Queue(AckMessage(req.seq, -ENODEV));
        return;
      default:
        f.Queue(AckMessage(req.seq, -add_error));
    }
  }
};

TEST(QueryTest, GetLinkByNameAndByIndex) {
  FakeKernel k;
  auto link = GetLink(*k.nl, "tun0");
  ASSERT_TRUE(link.ok()) << link.error().message();
  EXPECT_EQ(link->index, 3);
  EXPECT_EQ(link->name, "tun0");
  EXPECT_EQ(link->mtu, 1420);
  EXPECT_EQ(link->kind, "tun");
  EXPECT_EQ(link->flags, unsigned(IFF_UP | IFF_RUNNING));
  EXPECT_EQ(k.requests.back().flags, NLM_F_REQUEST | NLM_F_ACK);
  EXPECT_EQ(LinkIndex(*k.nl, "tun0").value_or(-1), 3);
  EXPECT_EQ(GetLink(*k.nl, 3)->name, "tun0");
}

TEST(QueryTest, MissingLinksAreEnodevNamedByTheKernelsAnswer) {
  FakeKernel k;
  auto link = GetLink(*k.nl, "tvx9");
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.error().code(), ENODEV);
  EXPECT_EQ(link.error().message(), "netlink RTM_GETLINK tvx9: No such device");
  Status s = DeleteLink(*k.nl, "tvx9");
  EXPECT_EQ(s.error().code(), ENODEV);
  EXPECT_EQ(s.error().message(), "netlink RTM_DELLINK tvx9: No such device");
  // Adding an address to it fails at the lookup, before any RTM_NEWADDR.
  s = AddAddress(*k.nl, "tvx9", P("198.19.0.1/24"));
  EXPECT_EQ(s.error().code(), ENODEV);
  EXPECT_EQ(k.requests.back().type, RTM_GETLINK);
}

TEST(QueryTest, AddAddressByNameResolvesTheIndexAndNamesErrors) {
  FakeKernel k;
  k.add_error = EEXIST;
  Status s = AddAddress(*k.nl, "tun0", P("198.19.0.1/24"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "netlink RTM_NEWADDR 198.19.0.1/24 dev tun0: File exists");
  ASSERT_EQ(k.requests.size(), 2u);
  auto a = ParsePayload<ifaddrmsg>(k.requests[1].payload);
  EXPECT_EQ(a->first.ifa_index, 3u);
}

TEST(QueryTest, ListAddressesKeepsOnlyTheLinksOwn) {
  FakeKernel k;
  AddressOptions nodad;
  nodad.nodad = true;
  k.addresses = {PayloadOf(BuildAddAddress(1, P("127.0.0.1/8"))),
                 PayloadOf(BuildAddAddress(3, P("198.19.0.1/24"))),
                 PayloadOf(BuildAddAddress(3, P("fd19::1/64"), nodad))};
  // The kernel sends IPv6 addresses with IFA_ADDRESS only, and full flags in IFA_FLAGS.
  ifaddrmsg v6{};
  v6.ifa_family = AF_INET6;
  v6.ifa_prefixlen = 64;
  v6.ifa_scope = RT_SCOPE_LINK;
  v6.ifa_index = 3;
  MessageBuilder ll(RTM_NEWADDR, 0);
  const auto fe80 = routing::IpAddress::Parse("fe80::1");
  ll.Family(v6).Attr(IFA_ADDRESS, fe80->bytes()).U32(IFA_FLAGS, IFA_F_PERMANENT | 0x100);
  k.addresses.push_back(PayloadOf(ll));
  auto list = ListAddresses(*k.nl, "tun0");
  ASSERT_TRUE(list.ok()) << list.error().message();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].prefix.ToString(), "198.19.0.1/24");
  EXPECT_EQ((*list)[1].prefix.ToString(), "fd19::1/64");
  EXPECT_EQ((*list)[1].flags, uint32_t(IFA_F_NODAD));
  EXPECT_EQ((*list)[2].prefix.ToString(), "fe80::1/64");
  EXPECT_EQ((*list)[2].scope, RT_SCOPE_LINK);
  EXPECT_EQ((*list)[2].flags, uint32_t(IFA_F_PERMANENT | 0x100));
  EXPECT_EQ(k.requests.back().flags, NLM_F_REQUEST | NLM_F_DUMP);
}

TEST(QueryTest, ListRoutesFiltersByTableAndReadsMetrics) {
  FakeKernel k;
  Route main_route;
  main_route.dst = P("198.19.0.0/24");
  main_route.oif = 3;
  main_route.mtu = 1300;
  Route tunnel;
  tunnel.dst = P("0.0.0.0/0");
  tunnel.oif = 3;
  tunnel.table = 51820;
  Route via;
  via.dst = P("198.19.1.0/24");
  via.gateway = *routing::IpAddress::Parse("198.19.0.2");
  via.metric = 10;
  k.routes = {PayloadOf(BuildAddRoute(main_route)), PayloadOf(BuildAddRoute(tunnel)),
              PayloadOf(BuildAddRoute(via))};
  auto main_table = ListRoutes(*k.nl, AF_INET);
  ASSERT_TRUE(main_table.ok()) << main_table.error().message();
  ASSERT_EQ(main_table->size(), 2u);
  EXPECT_EQ((*main_table)[0].dst.ToString(), "198.19.0.0/24");
  EXPECT_EQ((*main_table)[0].mtu, 1300u);
  EXPECT_EQ((*main_table)[0].oif, 3);
  EXPECT_EQ((*main_table)[0].type, RTN_UNICAST);
  EXPECT_EQ((*main_table)[0].protocol, RTPROT_BOOT);
  EXPECT_EQ((*main_table)[1].gateway->ToString(), "198.19.0.2");
  EXPECT_EQ((*main_table)[1].metric, 10u);
  auto wg = ListRoutes(*k.nl, AF_INET, 51820);
  ASSERT_EQ(wg->size(), 1u);
  EXPECT_EQ((*wg)[0].dst.ToString(), "0.0.0.0/0");
}

TEST(QueryTest, RouteByDeviceNameAndFamilyChecks) {
  FakeKernel k;
  k.add_error = EEXIST;
  Route r;
  r.dst = P("198.19.0.0/24");
  r.dev = "tun0";
  r.table = 51820;
  Status s = AddRoute(*k.nl, r);
  EXPECT_EQ(s.error().message(),
            "netlink RTM_NEWROUTE 198.19.0.0/24 dev tun0 table 51820: File exists");
  auto sent = ParsePayload<rtmsg>(k.requests.back().payload);
  EXPECT_EQ(FindAttr(sent->second, RTA_OIF)->AsU32(), 3u);
  r.gateway = *routing::IpAddress::Parse("fd19::1");
  const size_t before = k.requests.size();
  EXPECT_EQ(AddRoute(*k.nl, r).error().code(), EINVAL);
  EXPECT_EQ(k.requests.size(), before);
}

TEST(QueryTest, GetRouteToAsksForOneAddressAndReadsTheAnswer) {
  // ip route get 198.18.0.2 -> "198.18.0.2 dev va mtu 1400": the request carries the full
  // address (/32), the answer's oif and MTU are read.
  auto t = std::make_unique<FakeTransport>();
  FakeTransport* fake = t.get();
  std::vector<Message> asked;
  Route answer;
  answer.dst = P("198.18.0.2/32");
  answer.oif = 5;
  answer.mtu = 1400;
  fake->on_request = [&](FakeTransport& f, const Message& req) {
    asked.push_back(req);
    f.Queue(Datagram({ReplyMessage(RTM_NEWROUTE, req.seq, PayloadOf(BuildAddRoute(answer)), 0),
                      AckMessage(req.seq, 0)}));
  };
  NetlinkSocket nl(std::move(t));
  auto r = GetRouteTo(nl, *routing::IpAddress::Parse("198.18.0.2"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->oif, 5);
  EXPECT_EQ(r->mtu, 1400u);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].type, RTM_GETROUTE);
  EXPECT_EQ(asked[0].flags & NLM_F_DUMP, 0);
  auto sent = ParsePayload<rtmsg>(asked[0].payload);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->first.rtm_family, AF_INET);
  EXPECT_EQ(sent->first.rtm_dst_len, 32);
  EXPECT_EQ(ToHex(FindAttr(sent->second, RTA_DST)->data), "c6120002");

  // IPv6, and a kernel that has no route (ENETUNREACH) names the address.
  fake->on_request = [&](FakeTransport& f, const Message& req) {
    asked.push_back(req);
    f.Queue(AckMessage(req.seq, -ENETUNREACH));
  };
  auto none = GetRouteTo(nl, *routing::IpAddress::Parse("fd18::9"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ENETUNREACH);
  EXPECT_NE(none.error().message().find("get fd18::9"), std::string::npos)
      << none.error().message();
  sent = ParsePayload<rtmsg>(asked.back().payload);
  EXPECT_EQ(sent->first.rtm_dst_len, 128);
}

TEST(QueryTest, ListRulesReadsKernelStyleRules) {
  FakeKernel k;
  // As the kernel dumps them: FRA_TABLE and FRA_SUPPRESS_PREFIXLEN always (-1 = unset).
  auto rule = [](uint8_t flags, uint32_t table, uint32_t priority, std::optional<uint32_t> mark,
                 uint32_t suppress) {
    fib_rule_hdr h{};
    h.family = AF_INET;
    h.table = table < 256 ? uint8_t(table) : 0;
    h.action = FR_ACT_TO_TBL;
    h.flags = flags;
    MessageBuilder b(RTM_NEWRULE, 0);
    b.Family(h).U32(FRA_TABLE, table).U32(FRA_SUPPRESS_PREFIXLEN, suppress);
    b.U32(FRA_PRIORITY, priority);
    if (mark) b.U32(FRA_FWMARK, *mark).U32(FRA_FWMASK, 0xffffffff);
    return PayloadOf(b);
  };
  k.rules = {rule(0, 255, 0, {}, 0xffffffff), rule(0, kMainTable, 32764, {}, 0),
             rule(FIB_RULE_INVERT, 51820, 32765, 51820, 0xffffffff)};
  auto rules = ListRules(*k.nl, AF_INET);
  ASSERT_TRUE(rules.ok()) << rules.error().message();
  ASSERT_EQ(rules->size(), 3u);
  EXPECT_FALSE((*rules)[0].suppress_prefixlength.has_value());
  EXPECT_EQ((*rules)[1].suppress_prefixlength, 0u);
  EXPECT_EQ((*rules)[1].priority, 32764u);
  EXPECT_TRUE((*rules)[2].invert);
  EXPECT_EQ((*rules)[2].fwmark, 51820u);
  EXPECT_EQ((*rules)[2].table, 51820u);
  EXPECT_EQ(ListRules(*k.nl, 7).error().code(), EINVAL);
}

}  // namespace
}  // namespace tundra::netlink
