// The cross-platform UAPI text protocol (wireguard.com/xplatform; wireguard-go device/uapi.go),
// as a pure text layer: no sockets, no device. server.h connects it to a socket and a Device.
//
//   get=1\n\n             -> key=value lines, errno=0, blank line   (FormatGet)
//   set=1\n key=value...\n -> errno=N\n\n                           (SetParser + Device::Apply)
//
// Errors are wireguard-go's negative errno values. Text that can hold key hex (request lines,
// the get=1 reply) lives in a SecretString, wiped whenever it grows or dies; error texts for
// the log name the line and the key, never a value.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tundra/base/bytes.h"
#include "tundra/base/secret_string.h"
#include "tundra/device/update.h"
#include "tundra/proto/constants.h"

namespace tundra::uapi {

inline constexpr int kErrnoIo = -5;          // EIO: read/write failure
inline constexpr int kErrnoInvalid = -22;    // EINVAL: unknown key, bad value
inline constexpr int kErrnoNoAno = -55;      // ENOANO: anything else
inline constexpr int kErrnoProtocol = -71;   // EPROTO: a line without '='
inline constexpr int kErrnoMsgSize = -90;    // EMSGSIZE: a set=1 over kMaxSetRequestBytes (tundra)
inline constexpr int kErrnoAddrInUse = -98;  // EADDRINUSE: listen_port / fwmark

// The largest set=1 request (its lines, '\n' included) read before it is refused unapplied.
// wireguard-go has no bound (it applies line by line); `wg setconf` writes ~330 bytes a peer with
// a psk, an endpoint, a keepalive and two allowed IPs, ~100 with one allowed IP, so 64 MiB holds
// 200k such full peers or ~600k simple ones (kMaxPeers, 2^20, takes several requests).
inline constexpr size_t kMaxSetRequestBytes = size_t{64} << 20;

struct SetRequest {
  device::DeviceUpdate update;  // every line up to (not including) the first bad one
  int error = 0;                // 0, or the errno= value to answer with
  std::string error_detail;     // names the bad line and key (never a value), for the log
};

// Parses the lines of a set=1 request one at a time (after "set=1", without the '\n' and
// without the terminating blank line). Lines after the first bad one are ignored.
class SetParser {
 public:
  void Line(std::string_view line);
  SetRequest& request() { return req_; }

 private:
  void DeviceLine(std::string_view key, std::string_view value);
  void PeerLine(std::string_view key, std::string_view value);
  void Fail(int code, std::string detail);
  void BadValue(std::string_view key, std::string_view want);
  void Flag(std::string_view key, std::string_view value, bool& out);  // "true" only
  template <typename T>
  void Number(std::string_view key, std::string_view value, const char* want,
              std::optional<T>& out);

  SetRequest req_;
  bool in_peer_ = false;  // a public_key line started the peer at req_.update.peers.back()
  size_t line_number_ = 0;
};

// All of a set=1 request at once.
SetRequest ParseSet(const std::vector<std::string>& lines);

// The key of a `key=value` line if it looks like a UAPI key name (a few lowercase letters and
// '_'), else a placeholder: a key typed in the wrong place never reaches the log.
std::string_view LoggableKey(std::string_view line);

// The get=1 reply body in wireguard-go's order, ending with "errno=0\n\n".
SecretString FormatGet(const device::DeviceStatus& status);

// The set=1 request for `update`, as `wg` writes it (keys in wg's order: private_key,
// listen_port, fwmark, replace_peers; per peer public_key, remove, update_only, preshared_key,
// endpoint, persistent_keepalive_interval, replace_allowed_ips, allowed_ip...), starting with
// "set=1\n" and ending with the blank line. The one place that writes set=1 text; ParseSet
// reads it back to the same update.
SecretString FormatSet(const device::DeviceUpdate& update);

// A get=1 reply (as FormatGet writes it, or wireguard-go) read back into a DeviceStatus, for
// clients (tundra up/save/syncconf). Unknown keys are skipped as `wg` does; an errno other
// than 0, a bad value or a missing end is an error naming the line number and key.
Result<device::DeviceStatus> ParseGet(std::string_view reply);

// tundra's read-only extension (op "tundra_peers=1", also answered to its older name
// "tundra_transports=1"; docs/tcp-transport.md "Status"): the interface's default transport and TCP
// listener, and per peer (by public key, hex) the mode, the transport in use and since when,
// and the peer's counters (device::PeerCounterValues). In TAP mode (docs/l2.md) also the
// interface's mode=tap, switch=, forward=yes|no, mac_table=ENTRIES/CAPACITY, mac_expiry=S and
// the table's mac_* counters, and per peer allowed_mac= (repeated), mac_entries=N and
// l2_drop_<reason>=N. Never part of a get=1 reply.
std::string FormatPeers(const device::DeviceStatus& status);

// tundra's own read-only extension (op "tundra_stats=1"): the device's named counters.
std::string FormatStats(const std::vector<std::pair<std::string, uint64_t>>& counters);

// Maps a Device::Apply error to the errno= value wireguard-go would send.
int ErrnoForApplyError(const Error& error);

}  // namespace tundra::uapi
