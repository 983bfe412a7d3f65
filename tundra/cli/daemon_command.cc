// tundra [daemon] [-f|--foreground] IFNAME: parses the command line and the environment of
// wireguard-go's contract (WG_PROCESS_FOREGROUND, WG_UAPI_FD, LOG_LEVEL) and tundra's own
// (--user, --peer-up/--peer-down, --log-level; TUNDRA_TEST_TIME_SCALE for tests), then runs it.
#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <utility>

#include "tundra/base/log.h"
#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/cli/daemon.h"
#include "tundra/crypto/key_text.h"
#include "tundra/l2/constants.h"
#include "tundra/tun/tun_linux.h"

namespace tundra::cli {
namespace {

// --mode, --mac-table-size, --mac-expiry (after --mtu): TAP mode's options, validated.
Status TapOptions(const ParsedArgs& parsed, DaemonOptions& options) {
  if (auto mode = parsed.Get("mode")) {
    auto m = tun::ParseTunMode(*mode);
    if (!m.ok()) return InvalidArgument(fmt::format("--mode {}: must be tun or tap", *mode));
    options.tap = *m == tun::TunMode::kTap;
  }
  auto number = [&](const char* name, uint64_t& out) -> Status {
    const std::string text = *parsed.Get(name);
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
      return InvalidArgument(fmt::format("--{} {}: not a number", name, text));
    }
    return OkStatus();
  };
  for (const char* name : {"mac-table-size", "mac-expiry"}) {
    if (!parsed.Get(name)) continue;
    if (!options.tap) return InvalidArgument(fmt::format("--{}: only with --mode tap", name));
    uint64_t v = 0;
    TUNDRA_RETURN_IF_ERROR(number(name, v));
    if (std::string_view(name) == "mac-table-size") {
      options.mac_table.capacity = size_t(v);
    } else {
      options.mac_table.expiry = std::chrono::seconds(std::min<uint64_t>(v, uint64_t{1} << 32));
    }
    if (Status s = l2::ValidateMacTableOptions(options.mac_table); !s.ok()) {
      return std::move(s).error().Wrap(fmt::format("--{} {}", name, *parsed.Get(name)));
    }
  }
  if (!options.tap) return OkStatus();
  if (!parsed.Get("mtu")) {
    options.mtu = int(l2::TapMtuFor(proto::kDefaultMtu));
  } else if (size_t(options.mtu) + l2::kTapOverhead > size_t(proto::kMaxMtu)) {
    return InvalidArgument(fmt::format("--mtu {}: a TAP's MTU must be {}-{}", options.mtu,
                                       proto::kMinMtu, proto::kMaxMtu - int(l2::kTapOverhead)));
  }
  return OkStatus();
}

}  // namespace

int RunDaemon(CommandArgs args) {
  ArgParser p("tundra daemon", "IFNAME",
              "Run a WireGuard interface IFNAME in user space, configured with `wg` over\n"
              "/var/run/wireguard/IFNAME.sock (the wireguard-go process contract; also invoked\n"
              "as `tundra [-f] IFNAME`, e.g. by wg-quick). Goes to the background once the\n"
              "interface and the socket are ready.\n\n"
              "Logs go to stderr in the foreground, to syslog (daemon facility) in the\n"
              "background or, with --syslog, once the interface is up (as `tundra up` runs\n"
              "it), except when LOG_LEVEL is set: then stderr stays open, as with\n"
              "wireguard-go. PeerUp/PeerDown lines run when a peer's first handshake\n"
              "completes after it was down, and when its last session expired\n"
              "(REJECT_AFTER_TIME, 180 s, without a new handshake); %i = interface, %k = peer\n"
              "public key, %e = endpoint.\n\n"
              "Environment: LOG_LEVEL=silent|error|warn|info|verbose|debug (default error;\n"
              "--log-level wins), WG_PROCESS_FOREGROUND=1, WG_UAPI_FD=N (an inherited listening\n"
              "socket), WG_TUN_FD=N (an inherited descriptor already attached to a TUN without\n"
              "PI: its device is used and named as the kernel reports it; with --mode tap a TAP).\n"
              "--mode tap (docs/l2.md): the interface is a TAP and the tunnel carries Ethernet\n"
              "frames between the peers (no offloads); --mtu is then the TAP's MTU, 21 bytes\n"
              "less than the tunnel's (default 1399 = 1420 - 21).\n"
              "TUNDRA_TEST_TIME_SCALE=N (TESTS ONLY: protocol timers run N times as fast).");
  p.Flag("foreground", "stay in the foreground", 'f');
  p.Flag("syslog", "log to syslog once the interface is up, also in the foreground");
  p.Option("mtu", "BYTES", "MTU of the new interface (default 1420; TAP: 1399)");
  p.Option("mode", "tun|tap", "a TUN (IP packets, the default) or a TAP (Ethernet frames)");
  p.Option("mac-table-size", "N", "--mode tap: MAC table entries, 16-1048576 (default 8192)");
  p.Option("mac-expiry", "SECONDS", "--mode tap: a learned MAC's life, 10-86400 (default 600)");
  p.Flag("no-offload", "one packet per TUN read/write (no TSO/USO split, no GRO)");
  p.Option("user", "USER", "run as USER once set up, keeping only CAP_NET_ADMIN");
  p.Option("peer-up", "CMD", "run CMD when a peer comes up (repeatable)");
  p.Option("peer-down", "CMD", "run CMD when a peer goes down (repeatable)");
  p.Option("peer-up-for", "KEY:CMD", "run CMD when the peer with public key KEY comes up");
  p.Option("peer-down-for", "KEY:CMD", "run CMD when the peer with public key KEY goes down");
  p.Option("log-level", "LEVEL", "silent, error, warn, info, verbose or debug");
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
  options.syslog = parsed->Has("syslog");
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
  if (Status s = TapOptions(*parsed, options); !s.ok()) return ReportError(s.error(), kExitUsage);
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
  options.user = parsed->Get("user").value_or("");
  options.hooks.up = parsed->GetAll("peer-up");
  options.hooks.down = parsed->GetAll("peer-down");
  // One peer's own lines ([Peer] PeerUp/PeerDown, as `tundra up` passes them): KEY:CMD, KEY the
  // peer's base64 public key (which has no ':').
  for (const bool up : {true, false}) {
    const char* option = up ? "peer-up-for" : "peer-down-for";
    for (const std::string& value : parsed->GetAll(option)) {
      const size_t colon = value.find(':');
      auto key = colon == std::string::npos ? crypto::KeyFromBase64("")
                                            : crypto::KeyFromBase64(value.substr(0, colon));
      if (!key.ok()) {
        return ReportError(
            InvalidArgument(fmt::format("--{}: not KEY:CMD with KEY a base64 public key", option)),
            kExitUsage);
      }
      PeerHookSpec* spec = nullptr;
      for (PeerHookSpec& s : options.hooks.peers) {
        if (s.public_key == *key) spec = &s;
      }
      if (spec == nullptr) {
        spec = &options.hooks.peers.emplace_back();
        std::copy(key->begin(), key->end(), spec->public_key.begin());
      }
      (up ? spec->up : spec->down).push_back(value.substr(colon + 1));
    }
  }
  if (const char* scale = std::getenv("TUNDRA_TEST_TIME_SCALE"); scale != nullptr) {
    const std::string_view text(scale);
    int v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || v < 1 || v > 1000) {
      return ReportError(
          InvalidArgument(fmt::format("TUNDRA_TEST_TIME_SCALE={}: must be 1-1000", scale)),
          kExitUsage);
    }
    options.time_scale = v;
  }
  LogLevel level = LogLevel::kError;
  for (auto [from, text] :
       {std::pair<const char*, std::optional<std::string>>{
            "LOG_LEVEL=", std::getenv("LOG_LEVEL")
                              ? std::optional<std::string>(std::getenv("LOG_LEVEL"))
                              : std::nullopt},
        {"--log-level ", parsed->Get("log-level")}}) {
    if (!text) continue;
    auto parsed_level = ParseLogLevel(*text);
    if (!parsed_level) {
      return ReportError(InvalidArgument(fmt::format(
                             "{}{}: use silent, error, warn, info, verbose or debug", from, *text)),
                         kExitUsage);
    }
    level = *parsed_level;  // --log-level comes last: it wins
  }
  SetLogLevel(level);
  return RunDaemonProcess(options);
}

}  // namespace tundra::cli
