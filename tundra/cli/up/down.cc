// tundra down, save, syncconf (up.h).
#include <fcntl.h>
#include <fmt/core.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include "tundra/base/unique_fd.h"
#include "tundra/cli/up/internal.h"
#include "tundra/cli/up/state.h"
#include "tundra/cli/up/sync.h"
#include "tundra/cli/up/up.h"
#include "tundra/netlink/address.h"
#include "tundra/netlink/link.h"
#include "tundra/uapi/client.h"
#include "tundra/uapi/server.h"

namespace tundra::cli::up {
namespace {

Result<UpState> StateOf(const std::string& ifname) {
  auto state = ReadState(ifname);
  if (!state.ok() && state.error().code() == ENOENT) {
    return MakeError(ENOENT, fmt::format("{} is not up (no {}; was it started by tundra up?)",
                                         ifname, StatePath(ifname)));
  }
  return state;
}

// Writes the running configuration over the config file (mode 0600, atomically).
Status SaveTo(netlink::NetlinkSocket& nl, const UpState& state,
              const config::TunnelConfig& config) {
  TUNDRA_ASSIGN_OR_RETURN(device::DeviceStatus running,
                          uapi::GetDevice(uapi::SocketPath(state.ifname)));
  TUNDRA_RETURN_IF_ERROR(uapi::AddTundraStatus(uapi::SocketPath(state.ifname), running));
  std::vector<routing::IpPrefix> addresses;
  TUNDRA_ASSIGN_OR_RETURN(auto listed, netlink::ListAddresses(nl, state.ifname));
  for (const auto& a : listed) {
    if (a.scope == RT_SCOPE_UNIVERSE) addresses.push_back(a.prefix);
  }
  const SecretString text = SavedConfig(config, running, addresses);
  const std::string tmp = state.config_path + ".tundra-save";
  Step(fmt::format("save the running config to {}", state.config_path));
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return ErrnoError("open " + tmp);
    for (size_t done = 0; done < text.size();) {
      const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("write " + tmp);
      done += size_t(n);
    }
    if (::fsync(fd.get()) != 0) return ErrnoError("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), state.config_path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return ErrnoError("rename " + tmp);
  }
  return OkStatus();
}

}  // namespace

Status Down(const std::string& arg) {
  TUNDRA_ASSIGN_OR_RETURN(std::string ifname, InterfaceArg(arg));
  TUNDRA_ASSIGN_OR_RETURN(UpState state, StateOf(ifname));
  TUNDRA_ASSIGN_OR_RETURN(netlink::NetlinkSocket nl, netlink::NetlinkSocket::Open());
  auto config = config::LoadConfig(state.config_path);
  if (!config.ok()) {
    Warn(fmt::format("{} (no PreDown/PostDown hooks, no SaveConfig)", config.error().message()));
  }
  const bool alive = IsRunning(state.daemon);
  if (config.ok()) {
    // A failing hook does not keep the tunnel up: down goes on (and fails at the end).
    if (Status s = RunHooks("PreDown", config->interface.pre_down, ifname); !s.ok()) {
      Warn(s.error().message());
    }
    if (config->interface.save_config && alive) {
      if (Status s = SaveTo(nl, state, *config); !s.ok()) Warn(s.error().message());
    }
  }
  if (!alive && state.daemon.pid != 0) {
    Warn(fmt::format("the daemon of {} (pid {}) is gone; removing what it left", ifname,
                     state.daemon.pid));
  }
  Status torn = Teardown(nl, state);
  if (state.daemon.pid != 0 && IsRunning(state.daemon)) {
    // Not down: the state stays for a later `down`, which runs the hooks then.
    Warn(fmt::format("{} is not down: PostDown not run", ifname));
  } else if (config.ok()) {
    if (Status s = RunHooks("PostDown", config->interface.post_down, ifname); !s.ok()) {
      return std::move(s).error().Wrap(fmt::format("down {}", ifname));
    }
  }
  if (!torn.ok()) return std::move(torn).error().Wrap(fmt::format("down {}", ifname));
  return OkStatus();
}

Status Save(const std::string& arg) {
  TUNDRA_ASSIGN_OR_RETURN(std::string ifname, InterfaceArg(arg));
  TUNDRA_ASSIGN_OR_RETURN(UpState state, StateOf(ifname));
  TUNDRA_ASSIGN_OR_RETURN(config::TunnelConfig config, config::LoadConfig(state.config_path));
  TUNDRA_ASSIGN_OR_RETURN(netlink::NetlinkSocket nl, netlink::NetlinkSocket::Open());
  return SaveTo(nl, state, config);
}

Status SyncConf(const std::string& arg) {
  TUNDRA_ASSIGN_OR_RETURN(std::string ifname, InterfaceArg(arg));
  TUNDRA_ASSIGN_OR_RETURN(UpState state, StateOf(ifname));
  TUNDRA_ASSIGN_OR_RETURN(config::TunnelConfig config, config::LoadConfig(state.config_path));
  TUNDRA_ASSIGN_OR_RETURN(device::DeviceUpdate file, FileUpdate(config));
  // The fwmark `up` set for a default route stays (the file has none).
  if (!file.fwmark && state.fwmark) file.fwmark = state.fwmark;
  const std::string sock = uapi::SocketPath(ifname);
  TUNDRA_ASSIGN_OR_RETURN(device::DeviceStatus running, uapi::GetDevice(sock));
  TUNDRA_RETURN_IF_ERROR(uapi::AddTundraStatus(sock, running));
  TUNDRA_RETURN_IF_ERROR(CheckFixedSettings(running, config, ifname));
  const device::DeviceUpdate update = SyncUpdate(running, file);
  if (IsEmpty(update)) {
    Step(fmt::format("syncconf {}: nothing changed", ifname));
    return OkStatus();
  }
  size_t removed = 0;
  for (const auto& p : update.peers) removed += p.remove ? 1 : 0;
  Step(fmt::format("syncconf {}: set=1 with {} peer change(s) ({} removed){}", ifname,
                   update.peers.size() - removed, removed,
                   update.private_key || update.listen_port || update.fwmark ||
                           update.switch_mode || update.forward
                       ? " and interface keys"
                       : ""));
  return uapi::SetDevice(sock, update);
}

}  // namespace tundra::cli::up
