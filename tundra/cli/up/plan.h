// What `tundra up` does to the network, planned from a config with no I/O (unit-tested), as
// wg-quick's add_route / add_default / set_mtu_up do it:
//
//   - Table = off: no routes. Table = N: every AllowedIPs prefix (also /0) goes to table N.
//   - Table = auto (the default): each prefix, most specific first, into the main table unless
//     a main-table route on the interface already covers it (the kernel's prefix route of an
//     Address, or a route planned before it); a /0 instead goes into table T (FwMark if set,
//     else the first of 51820, 51821, ... with no route in it), with the rules
//       not fwmark T table T
//       table main suppress_prefixlength 0
//     for its family, and the device gets fwmark T so its own UDP packets bypass the tunnel.
//   - MTU = the lowest path MTU to the endpoints (or of the default route) minus 80.
//   - Mode = tap (docs/l2.md): no per-peer routes (the TAP is an Ethernet segment: its
//     Address prefixes route to it); the MTU is the TAP's, TapMtuFor(the tunnel MTU above).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tundra/base/result.h"
#include "tundra/config/config.h"
#include "tundra/netlink/route.h"
#include "tundra/routing/ip_prefix.h"

namespace tundra::cli::up {

inline constexpr uint32_t kFirstAutoTable = 51820;  // wg-quick's
inline constexpr int kMtuOverhead = 80;             // IPv6 (40) + UDP (8) + WireGuard (32)
inline constexpr int kFallbackPathMtu = 1500;       // when no route to an endpoint is known
// Where `tundra up NAME` looks for NAME.conf, in order.
inline constexpr const char* kConfigDirs[] = {"/etc/tundra", "/etc/wireguard"};

struct ConfigLocation {
  std::string path;
  std::string ifname;
};

// CONFIG|NAME: an argument with a '/' or ending in ".conf" is a file path whose name (without
// ".conf") is the interface; any other is NAME, looked up as kConfigDirs[i]/NAME.conf (the
// first that `exists`). The name must be a valid interface name.
Result<ConfigLocation> LocateConfig(std::string_view arg,
                                    const std::function<bool(const std::string&)>& exists);

struct PlannedRoute {
  routing::IpPrefix prefix;  // masked
  uint32_t table = netlink::kMainTable;
  friend bool operator==(const PlannedRoute&, const PlannedRoute&) = default;
};

struct RoutePlan {
  std::vector<PlannedRoute> routes;  // in the order to add them
  std::vector<netlink::Rule> rules;  // in the order to add them
  std::optional<uint32_t> fwmark;    // to set on the device (a /0 and no FwMark in the file)
  bool ipv4_default = false;         // set net.ipv4.conf.all.src_valid_mark=1, as wg-quick
};

struct RouteContext {
  // Main-table prefixes already routed over the interface (after the addresses were added).
  std::vector<routing::IpPrefix> on_interface;
  // Whether a table has any route (the automatic table skips those). Unset: none has.
  std::function<bool(uint32_t)> table_in_use;
};

RoutePlan PlanRoutes(const config::TunnelConfig& config, const RouteContext& context);

// The interface MTU for path MTUs (route MTU, else the route's link MTU) to the endpoints: the
// lowest minus kMtuOverhead; kFallbackPathMtu - kMtuOverhead when there are none. For a TAP
// (`tap`) the TAP's MTU for that tunnel MTU, l2::TapMtuFor (1399 for 1420).
int AutoMtu(const std::vector<int>& path_mtus, bool tap = false);

// The daemon's options from the file: User, the PeerUp/PeerDown lines (interface-wide, then
// each peer's as KEY:CMD), and TAP mode's --mode tap, --mac-table-size, --mac-expiry (fixed
// for the daemon's life). None of them is secret.
std::vector<std::string> DaemonArgs(const config::TunnelConfig& config);

}  // namespace tundra::cli::up
