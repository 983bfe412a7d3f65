// A UAPI client: one operation per connection, as `wg` does (tundra up, save, syncconf and the
// endpoint re-resolver use it).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "tundra/base/result.h"
#include "tundra/base/secret_string.h"
#include "tundra/device/update.h"

namespace tundra::uapi {

// Sends `request` to the socket at `path` and returns the reply up to and including its blank
// line. Errors name the path (connect, send, read, a reply without its end).
Result<SecretString> Exchange(const std::string& path, std::string_view request);

// get=1 -> the parsed reply.
Result<device::DeviceStatus> GetDevice(const std::string& path);
// set=1 (FormatSet) -> OK, or an error naming the errno= the daemon answered.
Status SetDevice(const std::string& path, const device::DeviceUpdate& update);

// The pid of the process serving the socket at `path` (SO_PEERCRED).
Result<pid_t> ServerPid(const std::string& path);

}  // namespace tundra::uapi
