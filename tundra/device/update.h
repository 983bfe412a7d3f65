// What configures a Device and what it reports: the typed form of a UAPI `set=1` / `get=1`
// (and, later, of a config file under tundra/config/). uapi/ produces DeviceUpdate; the device
// applies it in order and stops at the first failure, as wireguard-go does (lines before it stay
// applied).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "tundra/base/clock.h"
#include "tundra/compress/codec.h"
#include "tundra/crypto/secret.h"
#include "tundra/device/counters.h"
#include "tundra/device/shaping.h"
#include "tundra/l2/allowed_macs.h"
#include "tundra/l2/drop_reason.h"
#include "tundra/l2/mac_table.h"
#include "tundra/l2/switch.h"
#include "tundra/routing/ip_prefix.h"
#include "tundra/transport/endpoint.h"
#include "tundra/transport/tcp_policy.h"

namespace tundra::device {

struct AllowedIpChange {
  routing::IpPrefix prefix;
  bool remove = false;  // `allowed_ip=-prefix` (newer wg)
};

struct PeerUpdate {
  crypto::PublicKey public_key{};
  bool remove = false;
  bool update_only = false;                           // do not create the peer if it does not exist
  std::optional<crypto::SymmetricKey> preshared_key;  // all zero = none
  std::optional<transport::Endpoint> endpoint;
  std::optional<uint16_t> persistent_keepalive;  // seconds, 0 = off
  // How the configured endpoint is reached (`tundra_transport=`, docs/tcp-transport.md);
  // unset: the interface's.
  std::optional<transport::TransportMode> transport;
  std::optional<Speed> speed;     // tundra_speed=IN:OUT
  std::optional<uint32_t> burst;  // tundra_burst=BYTES
  // tundra_compression=lz4|zstd[:LEVEL]|none (docs/compression.md)
  std::optional<compress::Setting> compression;
  bool replace_allowed_ips = false;
  std::vector<AllowedIpChange> allowed_ips;
  // TAP mode (docs/l2.md): `tundra_replace_allowed_macs=true`, `tundra_allowed_mac=MAC[/LEN]`
  // (repeated; the entries accumulate as allowed IPs do). Refused (EINVAL) on a TUN-mode device.
  bool replace_allowed_macs = false;
  std::vector<l2::MacPrefix> allowed_macs;
};

struct DeviceUpdate {
  std::optional<crypto::PrivateKey> private_key;  // all zero = remove the key
  std::optional<uint16_t> listen_port;            // 0 = random
  std::optional<uint32_t> fwmark;                 // 0 = off
  // tundra extensions (docs/tcp-transport.md): the peers' default transport, and the TCP
  // listener's port (0 = the listen port). A listener runs when the default is tcp or auto,
  // or a TCP port was set.
  std::optional<transport::TransportMode> transport;
  std::optional<uint16_t> tcp_port;
  // TAP mode (docs/l2.md), refused (EINVAL) on a TUN-mode device: `tundra_switch=switch|hub`,
  // `tundra_forward=true|false`. Mode (TUN or TAP) and the MAC table's size and expiry are
  // fixed when the device is made (DeviceOptions::tap, ::mac_table).
  std::optional<l2::Mode> switch_mode;
  std::optional<bool> forward;
  bool replace_peers = false;
  std::vector<PeerUpdate> peers;
};

struct PeerStatus {
  crypto::PublicKey public_key{};
  crypto::SymmetricKey preshared_key;
  std::optional<transport::Endpoint> endpoint;
  WallTime last_handshake{};  // {0,0} = never
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint16_t persistent_keepalive = 0;
  std::vector<routing::IpPrefix> allowed_ips;
  transport::TransportMode transport_mode = transport::TransportMode::kUdp;  // effective
  transport::Transport transport_in_use = transport::Transport::kUdp;        // the endpoint's
  WallTime transport_since{};     // when transport_in_use last changed ({0,0}: never set)
  Shaping shaping;                // tundra_peers=1
  compress::Setting compression;  // tundra_peers=1
  // The current session's hello from the other end agreed: packets to it are compressed.
  bool compression_active = false;
  PeerCounterValues counters;  // tundra's own (tundra_peers=1)
  // TAP mode (tundra_peers=1): the peer's AllowedMACs, the MACs learned behind it, and the
  // frames from it dropped by reason (indexed by l2::DropReason; all zero in TUN mode).
  std::vector<l2::MacPrefix> allowed_macs;
  size_t mac_entries = 0;
  std::array<uint64_t, l2::kDropReasonCount> l2_drops{};
};

struct DeviceStatus {
  std::optional<crypto::PrivateKey> private_key;
  crypto::PublicKey public_key{};
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  transport::TransportMode transport = transport::TransportMode::kUdp;
  uint16_t tcp_listen_port = 0;  // 0: no TCP listener
  // TAP mode (docs/l2.md); the rest of this block is meaningful only when `tap`.
  bool tap = false;
  l2::Mode switch_mode = l2::Mode::kSwitch;
  bool forward = false;
  size_t mac_capacity = 0;  // MACTableSize
  Duration mac_expiry{};    // MACExpiry
  l2::MacTableStats mac_stats;
  std::vector<PeerStatus> peers;
};

}  // namespace tundra::device
