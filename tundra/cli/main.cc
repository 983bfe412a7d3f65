// tundra: argv dispatch. The only place that turns an Error into an exit code for the process.
#include <fmt/core.h>

#include <cstring>
#include <string>
#include <vector>

#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"

namespace tundra::cli {
namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(CommandArgs);
};

constexpr Command kCommands[] = {
    {"dev", "create, delete, list and show persistent TUN/TAP devices", RunDev},
    {"bridge", "join two TAP (or two TUN) interfaces in user space", RunBridge},
    {"impair", "a UDP relay that simulates a bad network (loss, delay, rate...)", RunImpair},
    {"daemon", "run the WireGuard tunnel daemon on interface IFNAME", RunDaemon},
    {"stats", "show a tundra daemon's dropped packets by reason", RunStats},
    {"up", "bring up a tunnel from its config file (as wg-quick up)", RunUp},
    {"down", "take down a tunnel brought up by tundra up", RunDown},
    {"save", "write a running tunnel's config back to its file", RunSave},
    {"syncconf", "apply a changed config file to a running tunnel", RunSyncConf},
    {"show", "show interfaces: wg show's fields, tundra's counters; --json, --prometheus", RunShow},
    {"demo", "two network namespaces and a tunnel between them, end to end (root)", RunDemo},
    {"strip", "print a config file's plain `wg setconf` part (as wg-quick strip)", RunStrip},
    {"genkey", "print a new private key (base64)", RunGenKey},
    {"genpsk", "print a new preshared key (base64)", RunGenPsk},
    {"pubkey", "read a private key on stdin, print its public key", RunPubKey},
};

void PrintHelp() {
  fmt::print(
      "tundra {}: user-space tunnels on the Linux TUN/TAP driver\n\n"
      "Usage: tundra COMMAND [ARGS...]\n"
      "       tundra [-f|--foreground] IFNAME   (wireguard-go compatible: same as 'tundra "
      "daemon')\n\n"
      "A command name is never taken as IFNAME: for an interface named like a command,\n"
      "run 'tundra daemon NAME'.\n\n"
      "Commands:\n",
      TUNDRA_VERSION);
  for (const Command& c : kCommands) fmt::print("  {:<10} {}\n", c.name, c.summary);
  fmt::print("\nRun 'tundra COMMAND --help' for a command's options.\n");
}

}  // namespace
}  // namespace tundra::cli

int main(int argc, char** argv) {
  using namespace tundra::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    PrintHelp();
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version" || args[0] == "version") {
    fmt::print("tundra {}\n", TUNDRA_VERSION);
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (args[0] == c.name) {
      return c.run(CommandArgs(args).subspan(1));
    }
  }
  // wireguard-go's process contract: `IMPL [-f|--foreground] IFNAME` (and the daemon's options).
  const std::string& first = args[0];
  bool daemon_option = first == "-f" || first == "--foreground" || first == "--no-offload";
  for (const char* with_value : {"--mtu", "--user", "--peer-up", "--peer-down", "--log-level"}) {
    daemon_option |= first.rfind(with_value, 0) == 0;
  }
  if (first[0] == '-' && !daemon_option) {
    fmt::print(stderr, "tundra: unknown option '{}' (see 'tundra --help')\n", args[0]);
    return kExitUsage;
  }
  return RunDaemon(CommandArgs(args));
}
