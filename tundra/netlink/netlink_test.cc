// Netlink messages built and parsed without a kernel: exact request bytes, hostile replies,
// and NLMSG_ERROR turned into errors, through a scripted transport.
#include <gtest/gtest.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include <deque>

#include "tundra/netlink/address.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/route.h"

namespace tundra::netlink {
namespace {

routing::IpPrefix P(const char* s) { return *routing::IpPrefix::Parse(s); }

template <typename T>
T At(const std::vector<uint8_t>& b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

TEST(BuilderTest, NewAddressBytes) {
  auto bytes = BuildAddress(true, 7, P("198.19.0.1/24"), false).Finish(42);
  // nlmsghdr(16) + ifaddrmsg(8) + IFA_LOCAL(8) + IFA_ADDRESS(8)
  ASSERT_EQ(bytes.size(), 40u);
  auto h = At<nlmsghdr>(bytes, 0);
  EXPECT_EQ(h.nlmsg_len, 40u);
  EXPECT_EQ(h.nlmsg_type, RTM_NEWADDR);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_CREATE | NLM_F_EXCL);
  EXPECT_EQ(h.nlmsg_seq, 42u);
  auto a = At<ifaddrmsg>(bytes, 16);
  EXPECT_EQ(a.ifa_family, AF_INET);
  EXPECT_EQ(a.ifa_prefixlen, 24);
  EXPECT_EQ(a.ifa_index, 7u);
  auto local = At<rtattr>(bytes, 24);
  EXPECT_EQ(local.rta_type, IFA_LOCAL);
  EXPECT_EQ(local.rta_len, 8);
  EXPECT_EQ(bytes[28], 198);
  EXPECT_EQ(bytes[31], 1);  // host bits kept: the address, not the network
  EXPECT_EQ(At<rtattr>(bytes, 32).rta_type, IFA_ADDRESS);
  // IPv6 with nodad.
  auto v6 = BuildAddress(true, 3, P("fd19::1/64"), true).Finish(1);
  EXPECT_EQ(v6.size(), 16u + 8 + 20 + 20);
  EXPECT_EQ(At<ifaddrmsg>(v6, 16).ifa_flags, IFA_F_NODAD);
  EXPECT_EQ(At<ifaddrmsg>(v6, 16).ifa_family, AF_INET6);
}

TEST(BuilderTest, RouteWithTableAndMtuMetric) {
  Route r;
  r.dst = P("fd19::7/64");  // masked on the wire
  r.oif = 5;
  r.table = 51820;
  r.mtu = 1340;
  auto bytes = BuildRoute(true, r).Finish(9);
  auto parsed = ParseMessages(bytes);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 1u);
  auto payload = ParsePayload<rtmsg>((*parsed)[0].payload);
  ASSERT_TRUE(payload.ok());
  const auto& [rt, attrs] = *payload;
  EXPECT_EQ(rt.rtm_family, AF_INET6);
  EXPECT_EQ(rt.rtm_dst_len, 64);
  EXPECT_EQ(rt.rtm_table, RT_TABLE_UNSPEC);  // > 255: carried in RTA_TABLE
  EXPECT_EQ(FindAttr(attrs, RTA_TABLE)->U32(), 51820u);
  EXPECT_EQ(FindAttr(attrs, RTA_OIF)->U32(), 5u);
  const RtAttr* dst = FindAttr(attrs, RTA_DST);
  ASSERT_NE(dst, nullptr);
  EXPECT_EQ(dst->data.size(), 16u);
  EXPECT_EQ(dst->data[15], 0);  // masked
  auto metrics = ParseAttrs(FindAttr(attrs, RTA_METRICS)->data);
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(FindAttr(*metrics, RTAX_MTU)->U32(), 1340u);
  // Round trip through the parser.
  auto back = ParseRoute((*parsed)[0].payload);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->dst.ToString(), "fd19::/64");
  EXPECT_EQ(back->mtu, 1340u);
  EXPECT_EQ(back->table, 51820u);
}

TEST(BuilderTest, VethNestsThePeer) {
  auto bytes = BuildNewVeth("va", "vb", 9).Finish(1);
  auto msgs = ParseMessages(bytes);
  ASSERT_TRUE(msgs.ok());
  auto link = ParsePayload<ifinfomsg>((*msgs)[0].payload);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(FindAttr(link->second, IFLA_IFNAME)->Str(), "va");
  auto info = ParseAttrs(FindAttr(link->second, IFLA_LINKINFO)->data);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(FindAttr(*info, IFLA_INFO_KIND)->Str(), "veth");
  auto data = ParseAttrs(FindAttr(*info, IFLA_INFO_DATA)->data);
  ASSERT_TRUE(data.ok());
  auto peer = ParsePayload<ifinfomsg>(FindAttr(*data, VETH_INFO_PEER)->data);
  ASSERT_TRUE(peer.ok());
  EXPECT_EQ(FindAttr(peer->second, IFLA_IFNAME)->Str(), "vb");
  EXPECT_EQ(FindAttr(peer->second, IFLA_NET_NS_FD)->U32(), 9u);
  EXPECT_EQ((*msgs)[0].flags, NLM_F_CREATE | NLM_F_EXCL);
}

TEST(BuilderTest, FwmarkRule) {
  Rule rule;
  rule.family = AF_INET6;
  rule.fwmark = 51820;
  rule.invert = true;
  rule.table = 51820;
  const auto bytes = BuildRule(true, rule).Finish(1);  // parsed spans point into it
  auto msgs = ParseMessages(bytes);
  ASSERT_TRUE(msgs.ok());
  auto p = ParsePayload<fib_rule_hdr>((*msgs)[0].payload);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->first.family, AF_INET6);
  EXPECT_TRUE(p->first.flags & FIB_RULE_INVERT);
  EXPECT_EQ(p->first.action, FR_ACT_TO_TBL);
  EXPECT_EQ(FindAttr(p->second, FRA_FWMARK)->U32(), 51820u);
  EXPECT_EQ(FindAttr(p->second, FRA_TABLE)->U32(), 51820u);
  Rule suppress;
  suppress.table = RT_TABLE_MAIN;
  suppress.suppress_prefixlength = 0;
  const auto sbytes = BuildRule(true, suppress).Finish(2);
  auto s = ParseMessages(sbytes);
  auto sp = ParsePayload<fib_rule_hdr>((*s)[0].payload);
  EXPECT_EQ(FindAttr(sp->second, FRA_SUPPRESS_PREFIXLEN)->U32(), 0u);
  EXPECT_EQ(FindAttr(sp->second, FRA_FWMARK), nullptr);
}

TEST(ParserTest, HostileLengthsAreErrorsNotOverreads) {
  // A message claiming more bytes than the buffer has.
  std::vector<uint8_t> m(20, 0);
  nlmsghdr h{};
  h.nlmsg_len = 200;
  std::memcpy(m.data(), &h, sizeof(h));
  EXPECT_FALSE(ParseMessages(m).ok());
  h.nlmsg_len = 8;  // shorter than its own header
  std::memcpy(m.data(), &h, sizeof(h));
  EXPECT_FALSE(ParseMessages(m).ok());
  // Attributes: length past the end, length below the header.
  std::vector<uint8_t> a = {8, 0, 1, 0, 1, 2};
  EXPECT_FALSE(ParseAttrs(a).ok());
  std::vector<uint8_t> b = {2, 0, 1, 0};
  EXPECT_FALSE(ParseAttrs(b).ok());
  // Truncated family header.
  EXPECT_FALSE(ParsePayload<ifinfomsg>(ByteSpan(a.data(), 4)).ok());
  // A trailing partial header is ignored, not read.
  std::vector<uint8_t> ok = {8, 0, 3, 0, 1, 2, 3, 4, 0xff, 0xff};
  auto attrs = ParseAttrs(ok);
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ(attrs->size(), 1u);
  // Strings without a NUL stop at the attribute's end.
  EXPECT_EQ((*attrs)[0].Str().size(), 4u);
}

uint32_t SeqOf(const std::vector<uint8_t>& m) { return At<nlmsghdr>(m, 0).nlmsg_seq; }

std::vector<uint8_t> ErrorReply(uint32_t seq, int error, const char* ext) {
  MessageBuilder b(NLMSG_ERROR, ext ? NLM_F_CAPPED | NLM_F_ACK_TLVS : NLM_F_CAPPED);
  nlmsgerr e{};
  e.error = error;
  e.msg.nlmsg_len = sizeof(nlmsghdr);
  e.msg.nlmsg_seq = seq;
  b.Family(e);
  if (ext) b.String(NLMSGERR_ATTR_MSG, ext);
  return b.Finish(seq);
}

// Answers each request like the kernel: an ack (or error) for requests, messages + DONE for
// dumps, optionally preceded by an unrelated message with another sequence number.
class AckingTransport : public Transport {
 public:
  int error = 0;
  const char* ext = nullptr;
  bool extra_before = false;               // an unrelated message (another seq) before the ack
  std::vector<std::vector<uint8_t>> dump;  // payloads to answer a dump with
  std::deque<std::vector<uint8_t>> queue;
  Status Send(ByteSpan m) override {
    std::vector<uint8_t> req(m.begin(), m.end());
    const uint32_t seq = SeqOf(req);
    if (extra_before) queue.push_back(ErrorReply(seq + 100, -EPERM, nullptr));
    if ((At<nlmsghdr>(req, 0).nlmsg_flags & NLM_F_DUMP) ==
        NLM_F_DUMP) {  // 0x200 alone is NLM_F_EXCL
      std::vector<uint8_t> d;
      for (auto& p : dump) {
        MessageBuilder b(RTM_NEWLINK, NLM_F_MULTI);
        b.Attr(0, p);  // payload carried raw; the test parses it back
        auto msg = b.Finish(seq);
        d.insert(d.end(), msg.begin(), msg.end());
      }
      queue.push_back(d);
      queue.push_back(MessageBuilder(NLMSG_DONE, NLM_F_MULTI).Finish(seq));
    } else {
      queue.push_back(ErrorReply(seq, error, ext));
    }
    return OkStatus();
  }
  Result<size_t> Receive(MutableByteSpan buf) override {
    if (queue.empty()) return MakeError(EIO, "no reply");
    auto r = std::move(queue.front());
    queue.pop_front();
    std::memcpy(buf.data(), r.data(), r.size());
    return r.size();
  }
};

TEST(SocketTest, AckErrorsAndDumps) {
  auto t = std::make_unique<AckingTransport>();
  AckingTransport* raw = t.get();
  NetlinkSocket nl(std::move(t));
  const MessageBuilder req = BuildAddress(true, 7, P("198.19.0.1/24"), false);

  EXPECT_TRUE(nl.Request(req, "198.19.0.1/24 dev tun0").ok());

  raw->error = -EEXIST;
  raw->extra_before = true;  // skipped: another sequence number
  Status s = nl.Request(req, "198.19.0.1/24 dev tun0");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EEXIST);
  EXPECT_EQ(s.error().message(), "netlink RTM_NEWADDR 198.19.0.1/24 dev tun0: File exists");

  raw->error = -EINVAL;
  raw->ext = "Invalid prefix length";
  s = nl.Request(req, "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "netlink RTM_NEWADDR x: Invalid argument (Invalid prefix length)");

  raw->dump = {{1, 2, 3, 4}, {5, 6, 7, 8}};
  MessageBuilder get(RTM_GETLINK, 0);
  get.Family(ifinfomsg{});
  auto d = nl.Dump(get, "(all)");
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->size(), 2u);
}

}  // namespace
}  // namespace tundra::netlink
