// The tunnel daemon process (wireguard-go main.go's contract; see the README and
// ../shared/reference/uapi-and-wg-quick.md §3.2):
//
//   tundra [daemon] [-f|--foreground] IFNAME
//
// creates the TUN interface IFNAME (MTU 1420; with --mode tap a TAP, MTU 1399) and the UAPI socket
// /var/run/wireguard/IFNAME.sock, then — unless in the foreground — forks; the parent exits 0
// only once the child runs the device and serves the socket, or 1 with the child's error. The
// daemon exits cleanly on SIGINT/SIGTERM, when the socket file is removed, and when the
// interface is deleted (or the namespace it was moved into), removing its socket and interface
// on the way out.
#pragma once

#include <string>

#include "tundra/base/result.h"
#include "tundra/cli/hook_runner.h"
#include "tundra/l2/mac_table.h"
#include "tundra/proto/constants.h"

namespace tundra::cli {

struct DaemonOptions {
  std::string ifname;
  bool foreground = false;
  // --syslog: log to syslog from the moment the interface is up, also in the foreground
  // (`tundra up` runs the daemon so: its start-up errors reach up through stderr, and what
  // follows goes to syslog/the journal).
  bool syslog = false;
  int mtu = int(proto::kDefaultMtu);  // in TAP mode the TAP's MTU (default TapMtuFor(1420))
  // --mode tap (docs/l2.md): the interface is a TAP (IFF_TAP | IFF_NO_PI, no vnet header
  // offloads) and carries Ethernet frames; fixed for the daemon's life. --mac-table-size and
  // --mac-expiry size the MAC table (l2::ValidateMacTableOptions; the device seeds the hash).
  bool tap = false;
  l2::MacTableOptions mac_table;
  bool offload = true;  // IFF_VNET_HDR + TUNSETOFFLOAD: super-packets split on read, GRO on write
  int uapi_fd = -1;     // WG_UAPI_FD: an inherited listening socket
  int tun_fd = -1;      // WG_TUN_FD: an inherited descriptor attached to a TUN (no PI)
  std::string socket_dir = "/var/run/wireguard";
  // The user (name or uid) the daemon runs as once the TUN, the UAPI socket and the netlink
  // watches are open ("" = stay root): --user, a config's [Interface] User. It keeps only
  // CAP_NET_ADMIN (privileges.h; docs/security.md).
  std::string user;
  // PeerUp/PeerDown hook lines (hook_runner.h): `up`/`down` for every peer (--peer-up,
  // --peer-down, [Interface] PeerUp/PeerDown), `peers` for one peer each ([Peer] PeerUp/
  // PeerDown). They run as `user`, one at a time, on a thread of their own.
  PeerHooks hooks;
  // TEST-ONLY (TUNDRA_TEST_TIME_SCALE): the protocol timers run this many times as fast
  // (base/clock.h ScaledClock). 1 = real time, always in production.
  double time_scale = 1;
};

// Where a daemon's log lines go: stderr in the foreground, and in the background when
// LOG_LEVEL is set (wireguard-go's contract: it keeps logging to stderr); syslog otherwise.
enum class LogTarget { kStderr, kSyslog };
inline LogTarget ChooseLogTarget(bool foreground, bool log_level_env_set) {
  return foreground || log_level_env_set ? LogTarget::kStderr : LogTarget::kSyslog;
}

// Runs the daemon; returns the process exit code (in the parent, once the child is ready).
int RunDaemonProcess(const DaemonOptions& options);

}  // namespace tundra::cli
