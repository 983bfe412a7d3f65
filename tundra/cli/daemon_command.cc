// tundra [daemon] [-f|--foreground] IFNAME: parses the command line and the environment of
// wireguard-go's contract (WG_PROCESS_FOREGROUND, WG_UAPI_FD, LOG_LEVEL), then runs the daemon.
#include <fmt/core.h>

#include <charconv>
#include <cstdlib>

#include "tundra/base/log.h"
#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/cli/daemon.h"
#include "tundra/tun/tun_linux.h"

namespace tundra::cli {

int RunDaemon(CommandArgs args) {
  ArgParser p("tundra daemon", "IFNAME",
              "Run a WireGuard interface IFNAME in user space, configured with `wg` over\n"
              "/var/run/wireguard/IFNAME.sock (the wireguard-go process contract; also invoked\n"
              "as `tundra [-f] IFNAME`, e.g. by wg-quick). Goes to the background once the\n"
              "interface and the socket are ready.\n\n"
              "Environment: LOG_LEVEL=silent|error|info|verbose|debug (default error; when set,\n"
              "the background daemon keeps logging to stderr), WG_PROCESS_FOREGROUND=1,\n"
              "WG_UAPI_FD=N (an inherited listening socket), WG_TUN_FD=N (an inherited\n"
              "descriptor already attached to a TUN without PI: its device is used and named\n"
              "as the kernel reports it).");
  p.Flag("foreground", "stay in the foreground", 'f');
  p.Option("mtu", "BYTES", "MTU of the new interface (default 1420)");
  p.Flag("no-offload", "one packet per TUN read/write (no TSO/USO split, no GRO)");
  auto parsed = p.Parse(args, 1, 1);
  if (!parsed.ok()) return ReportError(parsed.error(), kExitUsage);
  if (parsed->help_requested()) {
    fmt::print("{}", p.Usage());
    return kExitOk;
  }
  DaemonOptions options;
  options.ifname = parsed->positional()[0];
  if (Status s = tun::ValidateInterfaceName(options.ifname); !s.ok()) {
    return ReportError(s.error(), kExitUsage);
  }
  if (options.ifname.find('%') != std::string::npos) {
    return ReportError(InvalidArgument("tundra daemon: IFNAME must be a name, not a template"),
                       kExitUsage);
  }
  options.foreground = parsed->Has("foreground");
  options.offload = !parsed->Has("no-offload");
  if (const char* fg = std::getenv("WG_PROCESS_FOREGROUND");
      fg != nullptr && std::string(fg) == "1") {
    options.foreground = true;
  }
  if (auto mtu = parsed->Get("mtu")) {
    int v = 0;
    auto [ptr, ec] = std::from_chars(mtu->data(), mtu->data() + mtu->size(), v);
    if (ec != std::errc() || ptr != mtu->data() + mtu->size() || v < proto::kMinMtu ||
        v > proto::kMaxMtu) {
      return ReportError(InvalidArgument(fmt::format("--mtu {}: must be {}-{}", *mtu,
                                                     proto::kMinMtu, proto::kMaxMtu)),
                         kExitUsage);
    }
    options.mtu = v;
  }
  if (const char* fd = std::getenv("WG_UAPI_FD"); fd != nullptr) {
    options.uapi_fd = std::atoi(fd);
    if (options.uapi_fd < 0)
      return ReportError(InvalidArgument("WG_UAPI_FD: not a descriptor"), kExitUsage);
  }
  if (const char* fd = std::getenv("WG_TUN_FD"); fd != nullptr) {
    const std::string_view text(fd);
    int v = -1;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || v < 0) {
      return ReportError(InvalidArgument(fmt::format("WG_TUN_FD={}: not a descriptor number", fd)),
                         kExitUsage);
    }
    options.tun_fd = v;
  }
  LogLevel level = LogLevel::kError;
  if (const char* l = std::getenv("LOG_LEVEL"); l != nullptr) {
    auto parsed_level = ParseLogLevel(l);
    if (!parsed_level) {
      return ReportError(InvalidArgument(fmt::format(
                             "LOG_LEVEL={}: use silent, error, info, verbose or debug", l)),
                         kExitUsage);
    }
    level = *parsed_level;
  }
  SetLogLevel(level);
  return RunDaemonProcess(options);
}

}  // namespace tundra::cli
