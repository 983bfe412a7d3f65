// The client side of the UAPI socket: one operation per connection, as `wg` does. `tundra up`,
// save, syncconf and the endpoint re-resolver use GetDevice/SetDevice/ServerPid; `tundra show`
// and `tundra demo` use the get=1 / tundra_stats=1 parsers below.
//
// Secrets: replies are read into a SecretString (wiped). ParseGetReply derives the public key
// from the private key and keeps neither key in InterfaceInfo: nothing it parses can print a
// secret.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tundra/base/result.h"
#include "tundra/base/secret_string.h"
#include "tundra/device/update.h"
#include "tundra/l2/drop_reason.h"
#include "tundra/l2/mac_table.h"
#include "tundra/l2/switch.h"

namespace tundra::uapi {

// A UAPI reply larger than this is refused (a device with kMaxPeers peers and a few allowed
// IPs each stays far below it).
inline constexpr size_t kMaxReplyBytes = 256u << 20;

// Connects to the socket at `path`, writes `request` (which must end with the blank line) and
// returns the reply up to and including its terminating blank line. A daemon that closes the
// connection early yields what it sent (maybe empty: one without the operation, such as
// wireguard-go for tundra_stats=1); the parsers then name what is missing. Errors name the path.
Result<SecretString> Exchange(const std::string& path, std::string_view request);

// get=1 -> the parsed reply (ParseGet, protocol.h).
Result<device::DeviceStatus> GetDevice(const std::string& path);
// Adds what a tundra daemon reports beyond get=1 (tundra_peers=1: the interface's transport and
// TCP listener port, each peer's transport mode and shaping) to `status` (from GetDevice). A
// daemon without tundra_peers=1 changes nothing.
Status AddTundraStatus(const std::string& path, device::DeviceStatus& status);
// set=1 (FormatSet) -> OK, or an error naming the errno= the daemon answered.
Status SetDevice(const std::string& path, const device::DeviceUpdate& update);

// The pid of the process serving the socket at `path` (SO_PEERCRED).
Result<pid_t> ServerPid(const std::string& path);

// What a tundra daemon adds per peer (tundra_peers=1).
struct PeerTundraInfo {
  std::string transport;            // the mode in effect: udp, tcp or auto
  std::string transport_in_use;     // udp or tcp: what the peer's endpoint uses now
  int64_t transport_since_sec = 0;  // when transport_in_use last changed (0: never set)
  device::Shaping shaping;          // Speed/Burst (docs/shaping.md)
  compress::Setting compression;    // Compression (docs/compression.md)
  bool compression_active = false;  // the other end's hello agreed in the current session
  device::PeerCounterValues counters;
  // TAP mode (docs/l2.md): AllowedMACs as MAC[/LEN], the MACs learned behind the peer, and the
  // frames from it dropped, by l2::DropReason.
  std::vector<std::string> allowed_macs;
  size_t mac_entries = 0;
  std::array<uint64_t, l2::kDropReasonCount> l2_drops{};
};

// What a tundra daemon in TAP mode adds for the interface (tundra_peers=1, docs/l2.md).
struct TapInfo {
  l2::Mode switch_mode = l2::Mode::kSwitch;
  bool forward = false;
  size_t mac_capacity = 0;
  uint64_t mac_expiry_sec = 0;
  l2::MacTableStats mac_stats;  // .size: the entries now
};

struct PeerInfo {
  std::string public_key;  // base64, as wg prints it
  bool has_preshared_key = false;
  std::string endpoint;  // "198.18.0.2:51820", "[fd18::2]:51820", or empty
  std::vector<std::string> allowed_ips;
  int64_t last_handshake_sec = 0;  // Unix time; 0 = never
  int64_t last_handshake_nsec = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint16_t persistent_keepalive = 0;     // seconds; 0 = off
  std::optional<PeerTundraInfo> tundra;  // unset: not a tundra daemon (ParsePeersReply)
};

struct InterfaceInfo {
  std::string public_key;  // base64 of the public key derived from the private key, or empty
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  std::string transport;         // tundra only (ParsePeersReply): the peers' default mode
  uint16_t tcp_listen_port = 0;  // tundra only: 0 = no TCP listener
  std::optional<TapInfo> tap;    // tundra only: set in TAP mode
  std::vector<PeerInfo> peers;
};

// Parses a get=1 reply (key=value lines, errno=N, blank line). An errno other than 0, a line
// without '=', a bad number or key, or a missing errno line is an error naming the line.
Result<InterfaceInfo> ParseGetReply(std::string_view reply);

// Reads a tundra_peers=1 reply into `info` (from ParseGetReply): the interface's transport
// and TCP port, and each peer's PeerTundraInfo, matched by public key. An empty reply (a
// daemon without the operation) changes nothing; a peer that is not in `info` (added between
// the two requests) is skipped, as are keys this build does not know.
Status ParsePeersReply(std::string_view reply, InterfaceInfo& info);

// Parses a tundra_stats=1 reply into its counters, in order. An empty reply (a daemon that
// does not know the operation, e.g. wireguard-go) gives nullopt.
Result<std::optional<std::vector<std::pair<std::string, uint64_t>>>> ParseStatsReply(
    std::string_view reply);

}  // namespace tundra::uapi
