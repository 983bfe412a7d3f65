// Persistent TUN/TAP devices: list and show them from sysfs, create and delete them (what
// `ip tuntap` does, and what `tundra dev` runs).
//
// sysfs (/sys/class/net/NAME/{tun_flags,owner,group,ifindex,mtu,operstate}) shows the devices of
// the namespace that mounted it (see sysfs.h). Deleting = attach + TUNSETPERSIST(0) + close.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tundra/base/kernel.h"
#include "tundra/base/result.h"
#include "tundra/tun/sysfs.h"
#include "tundra/tun/tun_linux.h"

namespace tundra::tun {

struct TunDeviceInfo {
  std::string name;
  TunMode mode = TunMode::kTun;
  uint32_t tun_flags = 0;  // raw IFF_* bits from sysfs tun_flags
  bool persist = false;
  bool multi_queue = false;
  bool no_pi = false;
  bool vnet_hdr = false;
  std::optional<uid_t> owner;  // nullopt: any user with CAP_NET_ADMIN (sysfs shows -1)
  std::optional<gid_t> group;
  int ifindex = 0;
  int mtu = 0;
  std::string operstate;  // "up", "down", "unknown", ...
};

// Every TUN/TAP device under `sysfs_root`, sorted by name.
Result<std::vector<TunDeviceInfo>> ListTunDevices(std::string_view sysfs_root = kSysClassNet);
// One device. Errors: "NAME: no such network device", "NAME is not a TUN/TAP device".
Result<TunDeviceInfo> GetTunDevice(std::string_view name,
                                   std::string_view sysfs_root = kSysClassNet);
// One line like `ip tuntap show`: "tun0: tun persist no_pi user 1000 group 100".
std::string FormatTunSummary(const TunDeviceInfo& info);
// The flag words of FormatTunSummary alone: "persist multi_queue no_pi vnet_hdr" (may be empty).
std::string FormatTunFlags(const TunDeviceInfo& info);

// A user or group by name or number ("1000"). Error: "unknown user 'bob'".
Result<uid_t> ResolveUser(std::string_view user);
Result<gid_t> ResolveGroup(std::string_view group);

// Creates a persistent device (IFF_TUN_EXCL: fails if NAME exists) with owner/group set before
// TUNSETPERSIST; returns the real name (for a template such as "tun%d"). On any failure nothing
// is left behind.
Result<std::string> AddPersistentDevice(TunOptions options, KernelInterface& kernel = RealKernel());
// Deletes a persistent TUN/TAP device: attach, TUNSETPERSIST(0), close. Errors name the device
// when it does not exist, is not a TUN/TAP device, or is not persistent (it then belongs to the
// process holding it open).
Status DeletePersistentDevice(std::string_view name, KernelInterface& kernel = RealKernel(),
                              std::string_view sysfs_root = kSysClassNet,
                              std::string_view clone_device = kTunCloneDevice);

}  // namespace tundra::tun
