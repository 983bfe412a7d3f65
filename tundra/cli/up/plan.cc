#include "tundra/cli/up/plan.h"

#include <fmt/core.h>
#include <sys/socket.h>

#include <algorithm>

#include "tundra/crypto/key_text.h"
#include "tundra/l2/constants.h"
#include "tundra/netlink/link.h"

namespace tundra::cli::up {

Result<ConfigLocation> LocateConfig(std::string_view arg,
                                    const std::function<bool(const std::string&)>& exists) {
  constexpr std::string_view kSuffix = ".conf";
  const bool is_path =
      arg.find('/') != std::string_view::npos ||
      (arg.size() > kSuffix.size() && arg.substr(arg.size() - kSuffix.size()) == kSuffix);
  ConfigLocation loc;
  if (is_path) {
    loc.path = std::string(arg);
    std::string_view base =
        arg.substr(arg.rfind('/') == std::string_view::npos ? 0 : arg.rfind('/') + 1);
    if (base.size() <= kSuffix.size() || base.substr(base.size() - kSuffix.size()) != kSuffix) {
      return InvalidArgument(fmt::format(
          "config file '{}': its name must be IFNAME.conf (the interface is named after it)", arg));
    }
    loc.ifname = std::string(base.substr(0, base.size() - kSuffix.size()));
  } else {
    loc.ifname = std::string(arg);
  }
  if (Status s = netlink::ValidateLinkName(loc.ifname); !s.ok()) {
    return std::move(s).error().Wrap(fmt::format("'{}'", arg));
  }
  if (!is_path) {
    std::string tried;
    for (const char* dir : kConfigDirs) {
      const std::string path = fmt::format("{}/{}.conf", dir, loc.ifname);
      if (exists(path)) {
        loc.path = path;
        return loc;
      }
      tried += (tried.empty() ? "" : ", ") + path;
    }
    return MakeError(ENOENT, fmt::format("no config for '{}' (looked for {})", arg, tried));
  }
  return loc;
}

RoutePlan PlanRoutes(const config::TunnelConfig& config, const RouteContext& context) {
  RoutePlan plan;
  const config::TableSetting& table = config.interface.table;
  if (table.kind == config::TableSetting::Kind::kOff) return plan;
  if (config.interface.tap) return plan;  // AllowedIPs route nothing on a TAP (docs/l2.md)

  // Every peer's prefixes, masked, most specific first (wg-quick: sort -nr -k 2 -t /).
  std::vector<routing::IpPrefix> prefixes;
  for (const config::PeerConfig& peer : config.peers) {
    for (const routing::IpPrefix& p : peer.allowed_ips) {
      const routing::IpPrefix m = p.Masked();
      if (std::find(prefixes.begin(), prefixes.end(), m) == prefixes.end()) prefixes.push_back(m);
    }
  }
  std::stable_sort(
      prefixes.begin(), prefixes.end(),
      [](const routing::IpPrefix& a, const routing::IpPrefix& b) { return a.bits() > b.bits(); });

  if (table.kind == config::TableSetting::Kind::kNumber) {
    for (const routing::IpPrefix& p : prefixes) plan.routes.push_back({p, table.number});
    return plan;
  }

  std::vector<routing::IpPrefix> covered = context.on_interface;
  std::optional<uint32_t> default_table;
  for (const routing::IpPrefix& p : prefixes) {
    if (p.bits() != 0) {
      const bool is_covered = std::any_of(covered.begin(), covered.end(), [&](const auto& c) {
        return c.address().family() == p.address().family() && c.bits() <= p.bits() &&
               c.Masked().Contains(p.address());
      });
      if (!is_covered) {
        plan.routes.push_back({p, netlink::kMainTable});
        covered.push_back(p);
      }
      continue;
    }
    if (!default_table) {
      const std::optional<uint32_t> mark = config.interface.fwmark;
      if (mark && *mark != 0) {
        default_table = *mark;
      } else {
        uint32_t t = kFirstAutoTable;
        while (context.table_in_use && context.table_in_use(t)) ++t;
        default_table = t;
        plan.fwmark = t;
      }
    }
    const int family = p.address().family();
    netlink::Rule not_marked;
    not_marked.family = family;
    not_marked.table = *default_table;
    not_marked.fwmark = *default_table;
    not_marked.invert = true;
    netlink::Rule suppress;
    suppress.family = family;
    suppress.table = netlink::kMainTable;
    suppress.suppress_prefixlength = 0;
    plan.rules.push_back(not_marked);
    plan.rules.push_back(suppress);
    plan.routes.push_back({p, *default_table});
    if (family == AF_INET) plan.ipv4_default = true;
  }
  return plan;
}

int AutoMtu(const std::vector<int>& path_mtus, bool tap) {
  int lowest = 0;
  for (int m : path_mtus) {
    if (m > 0 && (lowest == 0 || m < lowest)) lowest = m;
  }
  const int tunnel = (lowest == 0 ? kFallbackPathMtu : lowest) - kMtuOverhead;
  return tap ? int(l2::TapMtuFor(size_t(tunnel))) : tunnel;
}

std::vector<std::string> DaemonArgs(const config::TunnelConfig& c) {
  std::vector<std::string> args;
  if (!c.interface.user.empty()) args.insert(args.end(), {"--user", c.interface.user});
  for (const std::string& l : c.interface.peer_up) args.insert(args.end(), {"--peer-up", l});
  for (const std::string& l : c.interface.peer_down) args.insert(args.end(), {"--peer-down", l});
  for (const config::PeerConfig& p : c.peers) {
    const std::string key = crypto::KeyToBase64(p.public_key);
    for (const std::string& l : p.peer_up)
      args.insert(args.end(), {"--peer-up-for", key + ":" + l});
    for (const std::string& l : p.peer_down) {
      args.insert(args.end(), {"--peer-down-for", key + ":" + l});
    }
  }
  if (c.interface.tap) {
    args.insert(args.end(), {"--mode", "tap"});
    if (c.interface.mac_table_size) {
      args.insert(args.end(), {"--mac-table-size", std::to_string(*c.interface.mac_table_size)});
    }
    if (c.interface.mac_expiry) {
      args.insert(args.end(), {"--mac-expiry", std::to_string(*c.interface.mac_expiry)});
    }
  }
  return args;
}

}  // namespace tundra::cli::up
