// Reading network-device attributes from sysfs (/sys/class/net/NAME/ATTR).
//
// sysfs shows the devices of the network namespace that mounted it: processes started with
// `ip netns exec` get a fresh mount; a bare `unshare --net` must remount /sys to see its own.
// The root is a parameter so tests can point it at a temporary directory.
#pragma once

#include <string>
#include <string_view>

#include "tundra/base/result.h"

namespace tundra::tun {

inline constexpr std::string_view kSysClassNet = "/sys/class/net";

// SYSFS_ROOT/IFNAME/ATTR without trailing whitespace. The error names the file (ENOENT if absent).
Result<std::string> ReadNetAttr(std::string_view sysfs_root, std::string_view ifname,
                                std::string_view attr);
// True if SYSFS_ROOT/IFNAME exists.
bool NetDeviceExists(std::string_view sysfs_root, std::string_view ifname);

}  // namespace tundra::tun
