// tundra up / down / save / syncconf: wg-quick's operations, over tundra's netlink library and
// the daemon's UAPI socket (docs/config.md, "tundra up"). Each prints the steps it takes on
// stderr ("[#] ..."), as wg-quick does.
#pragma once

#include <chrono>
#include <string>

#include "tundra/base/result.h"

namespace tundra::cli::up {

// The daemon has this long to exit after its interface is deleted, then gets SIGTERM (and as
// long again before SIGKILL).
inline constexpr std::chrono::milliseconds kDaemonExitWait{5000};
// The daemon has this long to serve its UAPI socket after it was started.
inline constexpr std::chrono::milliseconds kDaemonStartWait{10000};

// CONFIG|NAME (plan.h LocateConfig): starts `tundra daemon -f --syslog IFNAME` in its own
// session (start-up errors: /run/tundra/IFNAME.log), runs PreUp, applies the
// keys and peers over UAPI (set=1), adds the addresses, sets the MTU and brings the link up,
// DNS, routes and rules, PostUp; starts the endpoint re-resolver when an Endpoint is a host
// name. What it did is kept in /run/tundra/IFNAME.state; a failed step undoes everything
// before it.
// `log_level` ("" = the daemon's default) is passed on as its --log-level.
Status Up(const std::string& arg, const std::string& log_level = "");
// NAME or CONFIG: PreDown, SaveConfig, then undoes what the state file names (also when the
// daemon is gone), PostDown.
Status Down(const std::string& arg);
// Writes the running configuration back to the config file (sync.h SavedConfig).
Status Save(const std::string& arg);
// Re-reads the config file and sends the daemon only what changed (sync.h SyncUpdate).
Status SyncConf(const std::string& arg);

}  // namespace tundra::cli::up
