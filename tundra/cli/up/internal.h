// Shared by up.cc and down.cc (not an interface of the library).
#pragma once

#include <string>
#include <string_view>

#include "tundra/base/result.h"
#include "tundra/cli/up/state.h"
#include "tundra/config/config.h"
#include "tundra/netlink/socket.h"

namespace tundra::cli::up {

// "[#] what" on stderr, as wg-quick shows its steps.
void Step(std::string_view what);
// "[!] what" on stderr.
void Warn(std::string_view what);

// Undoes what `state` names, in reverse: the resolver, the rules, the interface (its addresses
// and routes go with it), the daemon (waited for, then signalled), a stale UAPI socket, DNS,
// the state file. Best effort: every step is tried; the first failure is returned.
Status Teardown(netlink::NetlinkSocket& nl, UpState& state);

// Runs the hooks of one kind in order; the first failure stops them.
Status RunHooks(std::string_view kind, const std::vector<std::string>& lines,
                const std::string& ifname);

// The interface name for `tundra down|save|syncconf NAME|CONFIG`.
Result<std::string> InterfaceArg(const std::string& arg);

// The DeviceUpdate of the file with host names resolved.
Result<device::DeviceUpdate> FileUpdate(const config::TunnelConfig& config);

}  // namespace tundra::cli::up
