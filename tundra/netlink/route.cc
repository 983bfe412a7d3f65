#include "tundra/netlink/route.h"

#include <fmt/core.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

namespace tundra::netlink {
namespace {

std::string Describe(const Route& r) {
  std::string s = r.dst.Masked().ToString();
  if (r.gateway) s += " via " + r.gateway->ToString();
  if (r.oif) s += fmt::format(" oif {}", r.oif);
  if (r.table != RT_TABLE_MAIN) s += fmt::format(" table {}", r.table);
  return s;
}

std::string Describe(const Rule& r) {
  std::string s = r.invert ? "not " : "";
  if (r.fwmark) s += fmt::format("fwmark {:#x} ", *r.fwmark);
  if (r.suppress_prefixlength >= 0)
    s += fmt::format("suppress_prefixlength {} ", r.suppress_prefixlength);
  return s + fmt::format("table {}", r.table);
}

}  // namespace

MessageBuilder BuildRoute(bool add, const Route& route) {
  const routing::IpPrefix dst = route.dst.Masked();
  rtmsg r{};
  r.rtm_family = uint8_t(dst.address().family());
  r.rtm_dst_len = uint8_t(dst.bits());
  r.rtm_table = route.table < 256 ? uint8_t(route.table) : uint8_t(RT_TABLE_UNSPEC);
  r.rtm_protocol = add ? RTPROT_BOOT : 0;
  r.rtm_scope = route.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  r.rtm_type = RTN_UNICAST;
  MessageBuilder m(add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  m.Family(r);
  if (dst.bits() != 0) m.Attr(RTA_DST, dst.address().bytes());
  if (route.oif) m.U32(RTA_OIF, uint32_t(route.oif));
  if (route.gateway) m.Attr(RTA_GATEWAY, route.gateway->bytes());
  if (route.table >= 256) m.U32(RTA_TABLE, route.table);
  if (route.metric) m.U32(RTA_PRIORITY, route.metric);
  if (route.mtu) {
    const size_t metrics = m.BeginNested(RTA_METRICS);
    m.U32(RTAX_MTU, route.mtu);
    m.EndNested(metrics);
  }
  return m;
}

Result<Route> ParseRoute(ByteSpan payload) {
  TUNDRA_ASSIGN_OR_RETURN(auto parsed, ParsePayload<rtmsg>(payload));
  const auto& [r, attrs] = parsed;
  Route route;
  route.table = r.rtm_table;
  uint8_t zero[16] = {};
  const bool v6 = r.rtm_family == AF_INET6;
  const RtAttr* dst = FindAttr(attrs, RTA_DST);
  const uint8_t* addr =
      dst != nullptr && dst->data.size() == (v6 ? 16u : 4u) ? dst->data.data() : zero;
  route.dst = routing::IpPrefix(v6 ? routing::IpAddress::V6(addr) : routing::IpAddress::V4(addr),
                                r.rtm_dst_len);
  if (const RtAttr* a = FindAttr(attrs, RTA_TABLE)) route.table = a->U32();
  if (const RtAttr* a = FindAttr(attrs, RTA_OIF)) route.oif = int(a->U32());
  if (const RtAttr* a = FindAttr(attrs, RTA_PRIORITY)) route.metric = a->U32();
  if (const RtAttr* a = FindAttr(attrs, RTA_GATEWAY); a && a->data.size() == (v6 ? 16u : 4u)) {
    route.gateway =
        v6 ? routing::IpAddress::V6(a->data.data()) : routing::IpAddress::V4(a->data.data());
  }
  if (const RtAttr* a = FindAttr(attrs, RTA_METRICS)) {
    auto metrics = ParseAttrs(a->data);
    if (metrics.ok()) {
      if (const RtAttr* mtu = FindAttr(*metrics, RTAX_MTU)) route.mtu = mtu->U32();
    }
  }
  return route;
}

MessageBuilder BuildRule(bool add, const Rule& rule) {
  fib_rule_hdr h{};
  h.family = uint8_t(rule.family);
  h.table = rule.table < 256 ? uint8_t(rule.table) : uint8_t(RT_TABLE_UNSPEC);
  h.action = FR_ACT_TO_TBL;
  if (rule.invert) h.flags |= FIB_RULE_INVERT;
  MessageBuilder m(add ? RTM_NEWRULE : RTM_DELRULE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  m.Family(h);
  m.U32(FRA_TABLE, rule.table);
  if (rule.fwmark) {
    m.U32(FRA_FWMARK, *rule.fwmark);
    m.U32(FRA_FWMASK, rule.fwmask);
  }
  if (rule.suppress_prefixlength >= 0) {
    m.U32(FRA_SUPPRESS_PREFIXLEN, uint32_t(rule.suppress_prefixlength));
  }
  if (rule.priority) m.U32(FRA_PRIORITY, rule.priority);
  return m;
}

Status AddRoute(NetlinkSocket& nl, const Route& route) {
  return nl.Request(BuildRoute(true, route), Describe(route));
}

Status DeleteRoute(NetlinkSocket& nl, const Route& route) {
  return nl.Request(BuildRoute(false, route), Describe(route));
}

Result<std::vector<Route>> ListRoutes(NetlinkSocket& nl, int family, uint32_t table) {
  MessageBuilder m(RTM_GETROUTE, 0);
  rtmsg r{};
  r.rtm_family = uint8_t(family);
  m.Family(r);
  TUNDRA_ASSIGN_OR_RETURN(auto replies, nl.Dump(m, fmt::format("table {}", table)));
  std::vector<Route> out;
  for (const auto& reply : replies) {
    auto route = ParseRoute(reply);
    if (route.ok() && route->table == table) out.push_back(std::move(*route));
  }
  return out;
}

Status AddRule(NetlinkSocket& nl, const Rule& rule) {
  return nl.Request(BuildRule(true, rule), Describe(rule));
}

Status DeleteRule(NetlinkSocket& nl, const Rule& rule) {
  return nl.Request(BuildRule(false, rule), Describe(rule));
}

}  // namespace tundra::netlink
