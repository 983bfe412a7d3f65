// `tundra show`: what `wg show` prints (interface public key, listening port, fwmark; per peer
// endpoint, allowed IPs, latest handshake, transfer, persistent keepalive) plus tundra's own
// counters (drops by reason, the TUN offloads, ICMP errors sent), as text, JSON or the
// Prometheus text exposition format. Private and preshared keys are never printed: the parsed
// uapi::InterfaceInfo does not hold them.
//
// The formatters are pure (the time "now" is an argument) so that unit tests check them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tundra/base/result.h"
#include "tundra/uapi/client.h"

namespace tundra::cli {

using CounterList = std::vector<std::pair<std::string, uint64_t>>;

struct ShownInterface {
  std::string name;
  uapi::InterfaceInfo info;
  // tundra_stats=1 counters; nullopt for a daemon that is not tundra (e.g. wireguard-go).
  std::optional<CounterList> counters;
};

// Reads one interface over /var/run/wireguard/NAME.sock (or `dir`): get=1, then tundra_stats=1.
Result<ShownInterface> ReadInterface(const std::string& name, const std::string& dir);
// The interface names with a socket in `dir`, sorted (as `wg show` lists them).
std::vector<std::string> ListInterfaces(const std::string& dir);

enum class ShowFormat { kText, kJson, kPrometheus };

// The report for `names` (every interface in `dir` when empty). Named interfaces that cannot be
// read are an error; when listing all, one that vanished or does not answer is left out and
// named in `warnings` (another daemon's socket may come and go while we read).
Result<std::string> RenderShow(const std::vector<std::string>& names, ShowFormat format,
                               const std::string& dir, std::vector<std::string>& warnings);

std::string FormatShowText(const std::vector<ShownInterface>& interfaces, int64_t now_sec);
std::string FormatShowJson(const std::vector<ShownInterface>& interfaces);
std::string FormatShowPrometheus(const std::vector<ShownInterface>& interfaces);

}  // namespace tundra::cli
