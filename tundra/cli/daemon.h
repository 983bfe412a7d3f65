// The tunnel daemon process (wireguard-go main.go's contract; see the README and
// ../shared/reference/uapi-and-wg-quick.md §3.2):
//
//   tundra [daemon] [-f|--foreground] IFNAME
//
// creates the TUN interface IFNAME (MTU 1420) and the UAPI socket
// /var/run/wireguard/IFNAME.sock, then — unless in the foreground — forks; the parent exits 0
// only once the child runs the device and serves the socket, or 1 with the child's error. The
// daemon exits cleanly on SIGINT/SIGTERM, when the socket file is removed, and when the
// interface is deleted (or the namespace it was moved into), removing its socket and interface
// on the way out.
#pragma once

#include <string>

#include "tundra/base/result.h"
#include "tundra/proto/constants.h"

namespace tundra::cli {

struct DaemonOptions {
  std::string ifname;
  bool foreground = false;
  int mtu = int(proto::kDefaultMtu);
  bool offload = true;  // IFF_VNET_HDR + TUNSETOFFLOAD: super-packets split on read, GRO on write
  int uapi_fd = -1;     // WG_UAPI_FD: an inherited listening socket
  int tun_fd = -1;      // WG_TUN_FD: an inherited descriptor attached to a TUN (no PI)
  std::string socket_dir = "/var/run/wireguard";
};

// Runs the daemon; returns the process exit code (in the parent, once the child is ready).
int RunDaemonProcess(const DaemonOptions& options);

}  // namespace tundra::cli
