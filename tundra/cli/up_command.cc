// tundra up | down | save | syncconf: wg-quick's operations (tundra/cli/up).
#include <fmt/core.h>

#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/cli/up/up.h"

namespace tundra::cli {
namespace {

int RunOp(CommandArgs args, const char* name, const char* usage, const char* summary,
          Status (*op)(const std::string&)) {
  ArgParser p(fmt::format("tundra {}", name), usage, summary);
  auto parsed = p.Parse(args, 1, 1);
  if (!parsed.ok()) return ReportError(parsed.error(), kExitUsage);
  if (parsed->help_requested()) {
    fmt::print("{}", p.Usage());
    return kExitOk;
  }
  Status s = op(parsed->positional()[0]);
  if (!s.ok()) return ReportError(s.error());
  return kExitOk;
}

}  // namespace

int RunUp(CommandArgs args) {
  ArgParser p(
      "tundra up", "[--log-level LEVEL] CONFIG|NAME",
      "Bring up the tunnel of a config file, as wg-quick up: CONFIG is a path (IFNAME.conf),\n"
      "NAME is looked up as /etc/tundra/NAME.conf, then /etc/wireguard/NAME.conf. Starts\n"
      "`tundra daemon IFNAME`, runs PreUp, applies keys and peers over the UAPI socket, adds\n"
      "the addresses, sets the MTU (MTU =, else the lowest route MTU to the endpoints minus\n"
      "80), DNS (resolvconf), the routes of AllowedIPs (a default route with fwmark and\n"
      "policy rules, as wg-quick), PostUp. What it did is kept in /run/tundra/IFNAME.state\n"
      "for `tundra down`; a failed step undoes all before it. Endpoint host names are\n"
      "resolved again after 2 minutes without a handshake (docs/config.md). The daemon\n"
      "logs to syslog (the journal under systemd), at LEVEL when given.");
  p.Option("log-level", "LEVEL", "the daemon's: silent, error, warn, info, verbose or debug");
  auto parsed = p.Parse(args, 1, 1);
  if (!parsed.ok()) return ReportError(parsed.error(), kExitUsage);
  if (parsed->help_requested()) {
    fmt::print("{}", p.Usage());
    return kExitOk;
  }
  Status s = up::Up(parsed->positional()[0], parsed->Get("log-level").value_or(""));
  if (!s.ok()) return ReportError(s.error());
  return kExitOk;
}

int RunDown(CommandArgs args) {
  return RunOp(args, "down", "NAME|CONFIG",
               "Take down a tunnel brought up by `tundra up`: PreDown, SaveConfig, then the\n"
               "rules, the interface (its addresses and routes), the daemon, DNS and the\n"
               "state file; PostDown. Works also when the daemon was killed.",
               up::Down);
}

int RunSave(CommandArgs args) {
  return RunOp(args, "save", "NAME|CONFIG",
               "Write the running configuration (peers, endpoints, addresses) back to the\n"
               "tunnel's config file, as wg-quick save.",
               up::Save);
}

int RunSyncConf(CommandArgs args) {
  return RunOp(args, "syncconf", "NAME|CONFIG",
               "Re-read the tunnel's config file and send the daemon only what changed (as\n"
               "`wg syncconf`, but unchanged peers are not touched, so their sessions stay).\n"
               "Addresses, routes and hooks are not changed.",
               up::SyncConf);
}

}  // namespace tundra::cli
