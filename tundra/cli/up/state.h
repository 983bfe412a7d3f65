// What `tundra up` did, kept in /run/tundra/IFNAME.state (mode 0600, no keys) so that
// `tundra down` can undo it even after the daemon was killed:
//
//   # tundra up state (read by tundra down); no keys
//   version 1
//   interface wg0
//   config /etc/tundra/wg0.conf
//   daemon 4242 1234567          pid and start time (/proc/PID/stat field 22): a reused pid is
//   resolver 4250 1234590        never signalled
//   fwmark 51820                 set by up for a default route
//   dns                          resolvconf -a was run
//   route 198.19.0.0/24 table 254
//   rule -4 not fwmark 51820 table 51820
//   rule -4 table 254 suppress_prefixlength 0
//
// The file is rewritten (atomically) after every step of `up`, so it names everything done
// so far when `up` itself dies half-way.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tundra/base/result.h"
#include "tundra/cli/up/plan.h"
#include "tundra/netlink/route.h"

namespace tundra::cli::up {

inline constexpr char kStateDir[] = "/run/tundra";

struct ProcessRef {
  pid_t pid = 0;  // 0 = none
  uint64_t start_time = 0;
  friend bool operator==(const ProcessRef&, const ProcessRef&) = default;
};

struct UpState {
  std::string ifname;
  std::string config_path;
  ProcessRef daemon;
  ProcessRef resolver;
  std::optional<uint32_t> fwmark;
  bool dns = false;
  std::vector<PlannedRoute> routes;
  std::vector<netlink::Rule> rules;
};

std::string StatePath(std::string_view ifname, std::string_view dir = kStateDir);
// The daemon's stdout/stderr (removed by down with the state file).
std::string LogPath(std::string_view ifname, std::string_view dir = kStateDir);
std::string FormatState(const UpState& state);
// Errors name `where` (the file) and the line.
Result<UpState> ParseState(std::string_view text, std::string_view where);

// Atomic (a temporary file renamed over it), mode 0600; creates `dir` (0755) when missing.
Status WriteState(const UpState& state, std::string_view dir = kStateDir);
// ENOENT when there is none.
Result<UpState> ReadState(std::string_view ifname, std::string_view dir = kStateDir);
Status RemoveState(std::string_view ifname, std::string_view dir = kStateDir);

// A running process as a reference that survives pid reuse (its start time).
Result<ProcessRef> RefOf(pid_t pid);
// True when `ref` still names the same running process (not a zombie).
bool IsRunning(const ProcessRef& ref);

}  // namespace tundra::cli::up
