// tundra strip CONFIG: the plain `wg` part of a config file, as `wg-quick strip` prints it
// (config/strip.h), after the whole file parsed: `tundra strip wg0.conf | wg setconf wg0
// /dev/stdin`.
#include <fmt/core.h>
#include <unistd.h>

#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/config/config.h"
#include "tundra/config/strip.h"

namespace tundra::cli {

int RunStrip(CommandArgs args) {
  ArgParser p("tundra strip", "CONFIG",
              "Print the part of config file CONFIG that `wg setconf` reads, as `wg-quick strip`\n"
              "does: without Address, DNS, MTU, Table, PreUp/PostUp/PreDown/PostDown, SaveConfig\n"
              "and tundra's own keys; PrivateKeyFile/PresharedKeyFile become the key lines they\n"
              "name. The whole file is checked first; an error names file:line and the key.\n"
              "The output holds the private key: pipe it, e.g.\n"
              "  tundra strip wg0.conf | wg setconf wg0 /dev/stdin");
  auto parsed = p.Parse(args, 1, 1);
  if (!parsed.ok()) return ReportError(parsed.error(), kExitUsage);
  if (parsed->help_requested()) {
    fmt::print("{}", p.Usage());
    return kExitOk;
  }
  const std::string& path = parsed->positional()[0];
  auto file = config::ReadIniFile(path);
  if (!file.ok()) return ReportError(file.error());
  auto config = config::ParseConfig(*file, config::ParseOptionsFor(path));
  if (!config.ok()) return ReportError(config.error());
  const SecretString out = config::Strip(*file, *config);
  for (size_t done = 0; done < out.size();) {
    const ssize_t n = ::write(STDOUT_FILENO, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ReportError(ErrnoError("write stdout"));
    done += size_t(n);
  }
  return kExitOk;
}

}  // namespace tundra::cli
