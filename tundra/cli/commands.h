// The tundra subcommands. Each takes the arguments after its own name and returns an exit
// code (cli/args.h: kExitOk, kExitFailure, kExitUsage). main.cc dispatches to them.
#pragma once

#include <span>
#include <string>

namespace tundra::cli {

using CommandArgs = std::span<const std::string>;

int RunDev(CommandArgs args);     // dev_command.cc: tundra dev add|del|list|show
int RunBridge(CommandArgs args);  // bridge_command.cc: tundra bridge IF1 IF2
int RunImpair(CommandArgs args);  // impair_command.cc: tundra impair --listen A --to B
int RunDaemon(CommandArgs args);  // daemon_command.cc: tundra [daemon] [-f] IFNAME
int RunGenKey(CommandArgs args);  // key_commands.cc: tundra genkey
int RunGenPsk(CommandArgs args);  // key_commands.cc: tundra genpsk
int RunPubKey(CommandArgs args);  // key_commands.cc: tundra pubkey
int RunStats(CommandArgs args);   // stats_command.cc: tundra stats IFNAME
int RunStrip(CommandArgs args);   // strip_command.cc: tundra strip CONFIG
int RunShow(CommandArgs args);    // show_command.cc: tundra show [NAME...] [--json|--prometheus]
int RunDemo(CommandArgs args);    // demo_command.cc: tundra demo

// up_command.cc: wg-quick's operations (tundra/cli/up)
int RunUp(CommandArgs args);        // tundra up CONFIG|NAME
int RunDown(CommandArgs args);      // tundra down NAME|CONFIG
int RunSave(CommandArgs args);      // tundra save NAME|CONFIG
int RunSyncConf(CommandArgs args);  // tundra syncconf NAME|CONFIG

}  // namespace tundra::cli
