// A tunnel's config file (the wg-quick format, plus tundra's keys: keys.h, docs/config.md),
// typed and validated. Every error names file:line, the section and the key, and never the
// text of a key:
//
//   wg0.conf:7: [Peer] AllowedIPs: '10.0.0.300/32' is not an IP prefix
//   wg0.conf:2: [Interface] PrivateKey: not a key: a key must be 44 base64 characters ...
//
// ToDeviceUpdate gives the part the device applies, as the same DeviceUpdate a UAPI
// `set=1` produces (what `wg setconf` would send).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tundra/base/result.h"
#include "tundra/compress/codec.h"
#include "tundra/config/ini.h"
#include "tundra/crypto/secret.h"
#include "tundra/device/update.h"
#include "tundra/l2/allowed_macs.h"
#include "tundra/l2/mac_table.h"
#include "tundra/l2/switch.h"
#include "tundra/routing/ip_prefix.h"
#include "tundra/transport/endpoint.h"
#include "tundra/transport/tcp_policy.h"

namespace tundra::config {

// Endpoint = host:port. A literal address is parsed now; a host name is kept for resolution.
struct EndpointSpec {
  std::string host;  // without the [brackets] of an IPv6 address
  uint16_t port = 0;
  std::optional<transport::Endpoint> numeric;  // set when host is an IP address
  size_t line = 0;
};

struct TableSetting {
  enum class Kind { kAuto, kOff, kNumber };
  Kind kind = Kind::kAuto;
  uint32_t number = 0;  // kNumber
};

struct InterfaceConfig {
  size_t line = 0;                                // the [Interface] line; 0 when the file has none
  std::vector<routing::IpPrefix> addresses;       // host bits kept: 10.0.0.1/24
  std::optional<crypto::PrivateKey> private_key;  // from PrivateKey or PrivateKeyFile
  std::string private_key_file;                   // as written ("" = none)
  std::optional<uint16_t> listen_port;
  std::optional<int> mtu;
  std::vector<routing::IpAddress> dns_servers;
  std::vector<std::string> dns_search;  // DNS entries that are not addresses (wg-quick)
  TableSetting table;
  std::optional<uint32_t> fwmark;  // 0 = off
  std::vector<std::string> pre_up, post_up, pre_down, post_down;
  bool save_config = false;
  std::string user;                                   // "" = stay root
  std::vector<std::string> peer_up, peer_down;        // for every peer
  std::optional<transport::TransportMode> transport;  // the peers' default (docs/tcp-transport.md)
  std::optional<uint16_t> tcp_port;                   // the TCP listener's port
  std::optional<device::Speed> speed;                 // the peers' default (docs/shaping.md)
  std::optional<uint32_t> burst;
  std::optional<compress::Setting> compression;  // the peers' default
  // TAP mode (docs/l2.md). Mode = tap sets `tap`; the other keys are refused without it.
  bool tap = false;
  std::optional<l2::Mode> switch_mode;  // SwitchMode (unset: switch)
  std::optional<bool> forward;          // Forward (unset: no)
  std::optional<size_t> mac_table_size;
  std::optional<uint32_t> mac_expiry;  // seconds
};

// The MAC table options of MACTableSize / MACExpiry (defaults where unset; hash_seed 0, the
// device seeds it).
l2::MacTableOptions MacTableOptionsOf(const InterfaceConfig& interface);

struct PeerConfig {
  size_t line = 0;  // the [Peer] line
  crypto::PublicKey public_key{};
  std::optional<crypto::SymmetricKey> preshared_key;  // from PresharedKey or PresharedKeyFile
  std::string preshared_key_file;
  std::vector<routing::IpPrefix> allowed_ips;
  std::optional<EndpointSpec> endpoint;
  std::optional<uint16_t> persistent_keepalive;  // 0 = off
  std::vector<std::string> peer_up, peer_down;   // for this peer, after [Interface]'s
  std::optional<transport::TransportMode> transport;
  std::optional<device::Speed> speed;  // unset: [Interface]'s
  std::optional<uint32_t> burst;
  std::optional<compress::Setting> compression;  // unset: [Interface]'s (docs/compression.md)
  std::vector<l2::MacPrefix> allowed_macs;       // AllowedMACs (Mode = tap), repeats accumulate
};

struct TunnelConfig {
  std::string name;  // the file's name as given
  InterfaceConfig interface;
  std::vector<PeerConfig> peers;
};

struct ParseOptions {
  // Relative PrivateKeyFile/PresharedKeyFile paths are taken from here ("" = the current
  // directory). LoadConfig uses the config file's directory.
  std::string key_file_dir;
};

Result<TunnelConfig> ParseConfig(const IniFile& file, const ParseOptions& options = {});
// The options LoadConfig uses for the file at `path` (key files beside it).
ParseOptions ParseOptionsFor(const std::string& path);
// Reads, tokenizes and parses the file at `path`.
Result<TunnelConfig> LoadConfig(const std::string& path);

// Turns an Endpoint host name into an address (later: getaddrinfo; tests: a table).
using EndpointResolver = std::function<Result<transport::Endpoint>(const EndpointSpec&)>;

// What `wg setconf` would send for this file: the interface keys, replace_peers, and every
// peer with replace_allowed_ips (in TAP mode also SwitchMode, Forward and each peer's
// AllowedMACs with replace_allowed_macs; Mode and the MAC table options are the daemon's).
// Host-name endpoints go through `resolve`; without one they are an error naming file:line.
Result<device::DeviceUpdate> ToDeviceUpdate(const TunnelConfig& config,
                                            const EndpointResolver& resolve = {});

// Reads a key file (PrivateKeyFile, PresharedKeyFile): a base64 key and optional trailing
// whitespace, in a regular file that group and others cannot access. Errors name the path
// (and its mode), never the content.
Result<crypto::Secret<crypto::kKeySize>> ReadKeyFile(const std::string& path);

}  // namespace tundra::config
