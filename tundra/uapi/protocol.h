// The cross-platform UAPI text protocol (wireguard.com/xplatform; wireguard-go device/uapi.go),
// as a pure text layer: no sockets, no device. server.h connects it to a socket and a Device.
//
//   get=1\n\n             -> key=value lines, errno=0, blank line   (FormatGet)
//   set=1\n key=value...\n -> errno=N\n\n                           (ParseSet + Device::Apply)
//
// Errors are wireguard-go's negative errno values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tundra/device/config.h"

namespace tundra::uapi {

inline constexpr int kErrnoIo = -5;          // EIO: read/write failure
inline constexpr int kErrnoInvalid = -22;    // EINVAL: unknown key, bad value
inline constexpr int kErrnoNoAno = -55;      // ENOANO: anything else
inline constexpr int kErrnoProtocol = -71;   // EPROTO: a line without '='
inline constexpr int kErrnoAddrInUse = -98;  // EADDRINUSE: listen_port / fwmark

struct SetRequest {
  device::DeviceUpdate update;  // every line up to (not including) the first bad one
  int error = 0;                // 0, or the errno= value to answer with
  std::string error_detail;     // names the bad line, for the log
};

// Parses the lines of a set=1 request (after "set=1", without the terminating blank line).
SetRequest ParseSet(const std::vector<std::string>& lines);

// The get=1 reply body in wireguard-go's order, ending with "errno=0\n\n".
std::string FormatGet(const device::DeviceStatus& status);

// tundra's own read-only extension (op "tundra_stats=1"): per-reason drop counters.
std::string FormatStats(const std::vector<std::pair<std::string, uint64_t>>& counters);

// Maps a Device::Apply error to the errno= value wireguard-go would send.
int ErrnoForApplyError(const Error& error);

}  // namespace tundra::uapi
