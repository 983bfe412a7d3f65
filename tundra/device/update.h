// What configures a Device and what it reports: the typed form of a UAPI `set=1` / `get=1`
// (and, later, of a config file under tundra/config/). uapi/ produces DeviceUpdate; the device
// applies it in order and stops at the first failure, as wireguard-go does (lines before it stay
// applied).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "tundra/base/clock.h"
#include "tundra/crypto/secret.h"
#include "tundra/routing/ip_prefix.h"
#include "tundra/transport/endpoint.h"

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
  bool replace_allowed_ips = false;
  std::vector<AllowedIpChange> allowed_ips;
};

struct DeviceUpdate {
  std::optional<crypto::PrivateKey> private_key;  // all zero = remove the key
  std::optional<uint16_t> listen_port;            // 0 = random
  std::optional<uint32_t> fwmark;                 // 0 = off
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
};

struct DeviceStatus {
  std::optional<crypto::PrivateKey> private_key;
  crypto::PublicKey public_key{};
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  std::vector<PeerStatus> peers;
};

}  // namespace tundra::device
