// Placeholders for commands not built yet. Each is replaced by its own file as it lands.
#include <fmt/core.h>

#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"

namespace tundra::cli {

namespace {
int NotYet(const char* what) {
  fmt::print(stderr, "tundra: '{}' is not implemented yet\n", what);
  return kExitFailure;
}
}  // namespace

int RunDev(CommandArgs) { return NotYet("dev"); }
int RunBridge(CommandArgs) { return NotYet("bridge"); }
int RunDaemon(CommandArgs) { return NotYet("daemon"); }

}  // namespace tundra::cli
