// Routes and policy-routing rules over rtnetlink (what wg-quick does with `ip route` and
// `ip rule` for full-tunnel setups: fwmark 51820, suppress_prefixlength 0).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tundra/netlink/socket.h"
#include "tundra/routing/ip_prefix.h"

namespace tundra::netlink {

struct Route {
  routing::IpPrefix dst;  // masked when sent
  int oif = 0;            // output interface index (0 = none)
  std::optional<routing::IpAddress> gateway;
  uint32_t table = 254;  // RT_TABLE_MAIN
  uint32_t metric = 0;
  uint32_t mtu = 0;  // 0 = no RTAX_MTU metric
};

struct Rule {
  int family = 2;  // AF_INET or AF_INET6
  uint32_t table = 0;
  std::optional<uint32_t> fwmark;
  uint32_t fwmask = 0xffffffff;
  bool invert = false;  // "not fwmark ..."
  int suppress_prefixlength = -1;
  uint32_t priority = 0;  // 0 = let the kernel choose
};

MessageBuilder BuildRoute(bool add, const Route& route);
MessageBuilder BuildRule(bool add, const Rule& rule);
Result<Route> ParseRoute(ByteSpan payload);

Status AddRoute(NetlinkSocket& nl, const Route& route);
Status DeleteRoute(NetlinkSocket& nl, const Route& route);
// Routes of one family (AF_INET/AF_INET6) in `table`.
Result<std::vector<Route>> ListRoutes(NetlinkSocket& nl, int family, uint32_t table = 254);
Status AddRule(NetlinkSocket& nl, const Rule& rule);
Status DeleteRule(NetlinkSocket& nl, const Rule& rule);

}  // namespace tundra::netlink
