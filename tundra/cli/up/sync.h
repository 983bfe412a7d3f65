// The running device against its config file: `tundra syncconf` (only what changed is sent, so
// unchanged peers keep their sessions) and `tundra save` (the file written back from the
// running device). No I/O here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tundra/base/secret_string.h"
#include "tundra/config/config.h"
#include "tundra/device/update.h"
#include "tundra/routing/ip_prefix.h"

namespace tundra::cli::up {

// The update that turns `running` into what `file` (config::ToDeviceUpdate) describes, as
// `wg syncconf` but smaller: a device key only when it differs, `remove` for each running peer
// the file does not have, a new peer in full, and for an existing peer only the fields that
// differ (preshared key, endpoint, keepalive, shaping, compression, transport mode; its allowed IPs
// replaced only when the set differs, and so its AllowedMACs in TAP mode; `running` carries shaping
// and transports from uapi::AddTundraStatus). The interface's transport too, its TcpPort when the
// file has one, and in TAP mode SwitchMode and Forward. A peer that matches is not mentioned at
// all. Nothing to change: an update with no keys and no peers.
device::DeviceUpdate SyncUpdate(const device::DeviceStatus& running,
                                const device::DeviceUpdate& file);

// What cannot change on a running interface: Mode (TUN or TAP is decided when the device is
// made) and, in TAP mode, MACTableSize and MACExpiry (the daemon's --mac-table-size,
// --mac-expiry). An error naming the key, the file's and the running value, asking for
// `tundra down` / `up`, when the file differs from `running` (with uapi::AddTundraStatus).
Status CheckFixedSettings(const device::DeviceStatus& running, const config::TunnelConfig& file,
                          const std::string& ifname);

// True when the update would change nothing.
bool IsEmpty(const device::DeviceUpdate& update);

// The config file `tundra save` writes (as wg-quick's save_config): the file's [Interface]
// settings with the interface's current addresses, the running device's keys, listen port and
// peers. Kept from the file: PrivateKeyFile/PresharedKeyFile (instead of the key), host-name
// endpoints (instead of the address they resolved to), DNS, MTU, Table, FwMark, hooks,
// SaveConfig, User, PeerUp/PeerDown, Transport, TcpPort, Mode, MACTableSize, MACExpiry.
// Speed/Burst/Compression, and in TAP mode SwitchMode, Forward and AllowedMACs, are the
// running device's.
// Comments are not kept. Holds the private key unless the file used PrivateKeyFile.
SecretString SavedConfig(const config::TunnelConfig& file, const device::DeviceStatus& running,
                         const std::vector<routing::IpPrefix>& addresses);

}  // namespace tundra::cli::up
