#include "tundra/netlink/route.h"

#include <fmt/core.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include "tundra/netlink/link.h"

namespace tundra::netlink {
namespace {

std::string Describe(const Route& r) {
  std::string s = r.dst.Masked().ToString();
  if (r.gateway) s += " via " + r.gateway->ToString();
  if (!r.dev.empty()) {
    s += " dev " + r.dev;
  } else if (r.oif != 0) {
    s += fmt::format(" dev ifindex {}", r.oif);
  }
  if (r.table != kMainTable) s += fmt::format(" table {}", r.table);
  if (r.metric != 0) s += fmt::format(" metric {}", r.metric);
  if (r.mtu != 0) s += fmt::format(" mtu {}", r.mtu);
  return s;
}

std::string Describe(const Rule& r) {
  std::string s = r.family == AF_INET6 ? "-6 " : "-4 ";
  if (r.priority != 0) s += fmt::format("priority {} ", r.priority);
  if (r.invert) s += "not ";
  if (r.fwmark) {
    s += fmt::format("fwmark {:#x}", *r.fwmark);
    s += r.fwmask != 0xffffffff ? fmt::format("/{:#x} ", r.fwmask) : " ";
  }
  if (r.suppress_prefixlength) {
    s += fmt::format("suppress_prefixlength {} ", *r.suppress_prefixlength);
  }
  return s + fmt::format("table {}", r.table);
}

routing::IpAddress AddressOf(int family, const uint8_t* p) {
  return family == AF_INET6 ? routing::IpAddress::V6(p) : routing::IpAddress::V4(p);
}

Error Malformed(const char* what) {
  return MakeError(EBADMSG, fmt::format("netlink: malformed {}", what));
}

MessageBuilder BuildRoute(uint16_t type, uint16_t flags, const Route& route) {
  const routing::IpPrefix dst = route.dst.Masked();
  const bool add = type == RTM_NEWROUTE;
  rtmsg r{};
  r.rtm_family = uint8_t(dst.address().family());
  r.rtm_dst_len = uint8_t(dst.bits());
  r.rtm_table = route.table < 256 ? uint8_t(route.table) : uint8_t(RT_TABLE_UNSPEC);
  // As iproute2: IPv6 routes are always universe; an IPv4 route without a gateway is on-link;
  // deletion matches any scope and type.
  if (r.rtm_family == AF_INET6) {
    r.rtm_scope = RT_SCOPE_UNIVERSE;
  } else if (!add) {
    r.rtm_scope = RT_SCOPE_NOWHERE;
  } else {
    r.rtm_scope = route.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  }
  r.rtm_protocol = add ? RTPROT_BOOT : RTPROT_UNSPEC;
  r.rtm_type = add ? RTN_UNICAST : RTN_UNSPEC;
  MessageBuilder m(type, flags);
  m.Family(r);
  // Attribute order as iproute2 sends them (the unit tests compare bytes with `ip route`).
  if (dst.bits() != 0) m.Attr(RTA_DST, dst.address().bytes());
  if (route.gateway) m.Attr(RTA_GATEWAY, route.gateway->bytes());
  if (route.table >= 256) m.U32(RTA_TABLE, route.table);
  if (route.metric != 0) m.U32(RTA_PRIORITY, route.metric);
  if (route.oif != 0) m.U32(RTA_OIF, uint32_t(route.oif));
  if (route.mtu != 0) {
    const size_t metrics = m.BeginNested(RTA_METRICS);
    m.U32(RTAX_MTU, route.mtu);
    m.EndNested(metrics);
  }
  return m;
}

MessageBuilder BuildRule(uint16_t type, uint16_t flags, const Rule& rule) {
  fib_rule_hdr h{};
  h.family = uint8_t(rule.family);
  h.table = rule.table < 256 ? uint8_t(rule.table) : uint8_t(RT_TABLE_UNSPEC);
  h.action = rule.table != 0 ? FR_ACT_TO_TBL : FR_ACT_UNSPEC;
  if (rule.invert) h.flags |= FIB_RULE_INVERT;
  MessageBuilder m(type, flags);
  m.Family(h);
  if (rule.priority != 0) m.U32(FRA_PRIORITY, rule.priority);
  if (rule.fwmark) {
    m.U32(FRA_FWMARK, *rule.fwmark);
    if (rule.fwmask != 0xffffffff) m.U32(FRA_FWMASK, rule.fwmask);
  }
  if (rule.table >= 256) m.U32(FRA_TABLE, rule.table);
  if (rule.suppress_prefixlength) m.U32(FRA_SUPPRESS_PREFIXLEN, *rule.suppress_prefixlength);
  return m;
}

// Checks the families and resolves `dev`.
Result<Route> Prepare(NetlinkSocket& nl, const Route& route) {
  if (route.gateway && route.gateway->family() != route.dst.address().family()) {
    return InvalidArgument(
        fmt::format("route {}: gateway and destination differ in family", Describe(route)));
  }
  Route out = route;
  if (out.oif == 0 && !out.dev.empty()) {
    TUNDRA_ASSIGN_OR_RETURN(out.oif, LinkIndex(nl, out.dev));
  }
  return out;
}

Status CheckRuleFamily(const Rule& rule) {
  if (rule.family != AF_INET && rule.family != AF_INET6) {
    return InvalidArgument(
        fmt::format("rule {}: family must be AF_INET or AF_INET6", Describe(rule)));
  }
  return OkStatus();
}

}  // namespace

MessageBuilder BuildAddRoute(const Route& route) {
  return BuildRoute(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, route);
}

MessageBuilder BuildDeleteRoute(const Route& route) { return BuildRoute(RTM_DELROUTE, 0, route); }

MessageBuilder BuildListRoutes(int family) {
  rtmsg r{};
  r.rtm_family = uint8_t(family);
  MessageBuilder m(RTM_GETROUTE, 0);
  m.Family(r);
  return m;
}

Result<Route> ParseRoute(ByteSpan payload) {
  TUNDRA_ASSIGN_OR_RETURN(auto parsed, ParsePayload<rtmsg>(payload));
  const auto& [r, attrs] = parsed;
  if (r.rtm_family != AF_INET && r.rtm_family != AF_INET6) {
    return MakeError(EAFNOSUPPORT, fmt::format("netlink: route family {}", r.rtm_family));
  }
  const size_t size = r.rtm_family == AF_INET6 ? 16 : 4;
  if (r.rtm_dst_len > size * 8) return Malformed("rtm_dst_len");
  Route route;
  route.table = r.rtm_table;
  route.type = r.rtm_type;
  route.protocol = r.rtm_protocol;
  const uint8_t zero[16] = {};
  const uint8_t* dst = zero;
  if (const RtAttr* a = FindAttr(attrs, RTA_DST)) {
    if (a->data.size() != size) return Malformed("RTA_DST");
    dst = a->data.data();
  }
  route.dst = routing::IpPrefix(AddressOf(r.rtm_family, dst), r.rtm_dst_len);
  if (const RtAttr* a = FindAttr(attrs, RTA_GATEWAY)) {
    if (a->data.size() != size) return Malformed("RTA_GATEWAY");
    route.gateway = AddressOf(r.rtm_family, a->data.data());
  }
  struct U32Field {
    int type;
    uint32_t* out;
    const char* name;
  };
  uint32_t oif = 0;
  for (const U32Field& f :
       {U32Field{RTA_TABLE, &route.table, "RTA_TABLE"}, U32Field{RTA_OIF, &oif, "RTA_OIF"},
        U32Field{RTA_PRIORITY, &route.metric, "RTA_PRIORITY"}}) {
    if (const RtAttr* a = FindAttr(attrs, uint16_t(f.type))) {
      auto v = a->AsU32();
      if (!v) return Malformed(f.name);
      *f.out = *v;
    }
  }
  route.oif = int(oif);
  if (const RtAttr* a = FindAttr(attrs, RTA_METRICS)) {
    auto metrics = ParseAttrs(a->data);
    if (!metrics.ok()) return Malformed("RTA_METRICS");
    if (const RtAttr* mtu = FindAttr(*metrics, RTAX_MTU)) {
      auto v = mtu->AsU32();
      if (!v) return Malformed("RTAX_MTU");
      route.mtu = *v;
    }
  }
  return route;
}

MessageBuilder BuildAddRule(const Rule& rule) {
  return BuildRule(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, rule);
}

MessageBuilder BuildDeleteRule(const Rule& rule) { return BuildRule(RTM_DELRULE, 0, rule); }

MessageBuilder BuildListRules(int family) {
  fib_rule_hdr h{};
  h.family = uint8_t(family);
  MessageBuilder m(RTM_GETRULE, 0);
  m.Family(h);
  return m;
}

Result<Rule> ParseRule(ByteSpan payload) {
  TUNDRA_ASSIGN_OR_RETURN(auto parsed, ParsePayload<fib_rule_hdr>(payload));
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
  const fib_rule_hdr& h = parsed.first;
  const std::vector<RtAttr>& attrs = parsed.second;
  Rule rule;
  rule.family = h.family;
  rule.table = h.table;
  rule.invert = (h.flags & FIB_RULE_INVERT) != 0;
  auto u32 = [&](uint16_t type, const char* name) -> Result<std::optional<uint32_t>> {
    const RtAttr* a = FindAttr(attrs, type);
    if (a == nullptr) return std::optional<uint32_t>();
    auto v = a->AsU32();
    if (!v) return Malformed(name);
    return v;
  };
  TUNDRA_ASSIGN_OR_RETURN(auto table, u32(FRA_TABLE, "FRA_TABLE"));
  TUNDRA_ASSIGN_OR_RETURN(auto priority, u32(FRA_PRIORITY, "FRA_PRIORITY"));
  TUNDRA_ASSIGN_OR_RETURN(auto fwmark, u32(FRA_FWMARK, "FRA_FWMARK"));
  TUNDRA_ASSIGN_OR_RETURN(auto fwmask, u32(FRA_FWMASK, "FRA_FWMASK"));
  TUNDRA_ASSIGN_OR_RETURN(auto suppress, u32(FRA_SUPPRESS_PREFIXLEN, "FRA_SUPPRESS_PREFIXLEN"));
  if (table) rule.table = *table;
  rule.priority = priority.value_or(0);
  rule.fwmark = fwmark;
  rule.fwmask = fwmask.value_or(0xffffffff);
  // The kernel reports "unset" as -1.
  if (suppress && *suppress != 0xffffffff) rule.suppress_prefixlength = suppress;
  return rule;
}

Status AddRoute(NetlinkSocket& nl, const Route& route) {
  TUNDRA_ASSIGN_OR_RETURN(Route r, Prepare(nl, route));
  return nl.Request(BuildAddRoute(r), Describe(route));
}

Status DeleteRoute(NetlinkSocket& nl, const Route& route) {
  TUNDRA_ASSIGN_OR_RETURN(Route r, Prepare(nl, route));
  return nl.Request(BuildDeleteRoute(r), Describe(route));
}

Result<std::vector<Route>> ListRoutes(NetlinkSocket& nl, int family, uint32_t table) {
  const std::string what = fmt::format("{} table {}", family == AF_INET6 ? "-6" : "-4", table);
  TUNDRA_ASSIGN_OR_RETURN(auto replies, nl.Dump(BuildListRoutes(family), what));
  std::vector<Route> out;
  for (const Reply& reply : replies) {
    if (reply.type != RTM_NEWROUTE) continue;
    auto route = ParseRoute(reply.payload);
    if (!route.ok()) {
      if (route.error().code() == EAFNOSUPPORT) continue;
      return route.error().Wrap(fmt::format("netlink RTM_GETROUTE {}", what));
    }
    if (route->table == table && route->dst.address().family() == family) {
      out.push_back(std::move(*route));
    }
  }
  return out;
}

MessageBuilder BuildGetRoute(const routing::IpAddress& dst,
                             const std::optional<routing::IpAddress>& src, uint32_t mark) {
  rtmsg r{};
  r.rtm_family = uint8_t(dst.family());
  r.rtm_dst_len = uint8_t(dst.max_bits());
  if (src) r.rtm_src_len = uint8_t(src->max_bits());
  MessageBuilder m(RTM_GETROUTE, 0);
  m.Family(r);
  m.Attr(RTA_DST, dst.data(), dst.size());
  if (src) m.Attr(RTA_SRC, src->data(), src->size());
  if (mark != 0) m.U32(RTA_MARK, mark);
  return m;
}

Result<Route> GetRoute(NetlinkSocket& nl, const routing::IpAddress& dst,
                       const std::optional<routing::IpAddress>& src, uint32_t mark) {
  if (src && src->family() != dst.family()) {
    return MakeError(EINVAL, "netlink RTM_GETROUTE: source and destination families differ");
  }
  std::string what = "get " + dst.ToString();
  if (src) what += " from " + src->ToString();
  if (mark != 0) what += fmt::format(" mark {:#x}", mark);
  TUNDRA_ASSIGN_OR_RETURN(auto replies, nl.Query(BuildGetRoute(dst, src, mark), what));
  for (const Reply& reply : replies) {
    if (reply.type != RTM_NEWROUTE) continue;
    auto route = ParseRoute(reply.payload);
    if (!route.ok()) return route.error().Wrap(fmt::format("netlink RTM_GETROUTE {}", what));
    return route;
  }
  return MakeError(ENOENT, fmt::format("netlink RTM_GETROUTE {}: no route in the reply", what));
}

Status AddRule(NetlinkSocket& nl, const Rule& rule) {
  TUNDRA_RETURN_IF_ERROR(CheckRuleFamily(rule));
  return nl.Request(BuildAddRule(rule), Describe(rule));
}

Status DeleteRule(NetlinkSocket& nl, const Rule& rule) {
  TUNDRA_RETURN_IF_ERROR(CheckRuleFamily(rule));
  return nl.Request(BuildDeleteRule(rule), Describe(rule));
}

Result<std::vector<Rule>> ListRules(NetlinkSocket& nl, int family) {
  Rule probe;
  probe.family = family;
  TUNDRA_RETURN_IF_ERROR(CheckRuleFamily(probe));
  const std::string what = family == AF_INET6 ? "-6" : "-4";
  TUNDRA_ASSIGN_OR_RETURN(auto replies, nl.Dump(BuildListRules(family), what));
  std::vector<Rule> out;
  for (const Reply& reply : replies) {
    if (reply.type != RTM_NEWRULE) continue;
    auto rule = ParseRule(reply.payload);
    if (!rule.ok()) return rule.error().Wrap(fmt::format("netlink RTM_GETRULE {}", what));
    out.push_back(std::move(*rule));
  }
  return out;
}

}  // namespace tundra::netlink
