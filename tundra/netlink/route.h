// Routes and policy-routing rules over rtnetlink: what wg-quick does with `ip route` and
// `ip rule` for a full tunnel (routes in table 51820, `not fwmark 51820 table 51820`,
// `table main suppress_prefixlength 0`).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tundra/netlink/socket.h"
#include "tundra/routing/ip_prefix.h"

namespace tundra::netlink {

inline constexpr uint32_t kMainTable = 254;  // RT_TABLE_MAIN

struct Route {
  routing::IpPrefix dst;  // host bits are cleared when sent; /0 is a default route
  int oif = 0;            // output interface index; 0 = none (or `dev`)
  std::string dev;        // output interface by name, looked up when `oif` is 0
  std::optional<routing::IpAddress> gateway;  // same family as `dst`
  uint32_t table = kMainTable;
  uint32_t metric = 0;  // RTA_PRIORITY
  uint32_t mtu = 0;     // RTA_METRICS/RTAX_MTU; 0 = none
  // Filled by the parser: RTN_UNICAST, RTN_LOCAL, ... and who installed it (RTPROT_*).
  uint8_t type = 0;
  uint8_t protocol = 0;
};

struct Rule {
  int family = AF_INET;  // AF_INET or AF_INET6
  uint32_t table = 0;    // the table to look up; 0 only to match any table when deleting
  std::optional<uint32_t> fwmark;
  uint32_t fwmask = 0xffffffff;
  bool invert = false;  // "not": the rule applies when the selectors do NOT match
  std::optional<uint32_t> suppress_prefixlength;  // ignore table answers this short or shorter
  uint32_t priority = 0;                          // 0 = the kernel picks one (on add)
};

// `route.oif` must be set (or no device used): the builders do not look names up.
MessageBuilder BuildAddRoute(const Route& route);
MessageBuilder BuildDeleteRoute(const Route& route);
MessageBuilder BuildListRoutes(int family);
Result<Route> ParseRoute(ByteSpan payload);

MessageBuilder BuildAddRule(const Rule& rule);
MessageBuilder BuildDeleteRule(const Rule& rule);
MessageBuilder BuildListRules(int family);
Result<Rule> ParseRule(ByteSpan payload);

// Errors name the route: "netlink RTM_NEWROUTE 198.19.0.0/24 dev tun0 table 51820: File exists".
Status AddRoute(NetlinkSocket& nl, const Route& route);
// Deletes the route matching dst, table and whatever else is set (oif/dev, gateway, metric).
Status DeleteRoute(NetlinkSocket& nl, const Route& route);
// Routes of `family` (AF_INET/AF_INET6) in `table`.
Result<std::vector<Route>> ListRoutes(NetlinkSocket& nl, int family, uint32_t table = kMainTable);

// `ip route get DST [from SRC] [mark MARK]`: the route the kernel would send a datagram to
// `dst` by (an output lookup: RTM_GETROUTE with RTA_DST, RTA_SRC, RTA_MARK), as a Route whose
// oif is the output interface.
MessageBuilder BuildGetRoute(const routing::IpAddress& dst,
                             const std::optional<routing::IpAddress>& src, uint32_t mark);
Result<Route> GetRoute(NetlinkSocket& nl, const routing::IpAddress& dst,
                       const std::optional<routing::IpAddress>& src, uint32_t mark = 0);
// `ip route get ADDRESS`: the route the kernel picks for one address (its oif, gateway, table
// and, when the route has one, its MTU metric).
inline Result<Route> GetRouteTo(NetlinkSocket& nl, const routing::IpAddress& address) {
  return GetRoute(nl, address, std::nullopt, 0);
}

Status AddRule(NetlinkSocket& nl, const Rule& rule);
// Deletes the first rule matching every selector that is set.
Status DeleteRule(NetlinkSocket& nl, const Rule& rule);
Result<std::vector<Rule>> ListRules(NetlinkSocket& nl, int family);

}  // namespace tundra::netlink
