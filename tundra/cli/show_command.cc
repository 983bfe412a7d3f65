// tundra show [NAME...] [--json|--prometheus]: wg show's fields and tundra's counters.
#include <fmt/core.h>

#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/cli/show.h"
#include "tundra/uapi/server.h"

namespace tundra::cli {

int RunShow(CommandArgs args) {
  ArgParser p(
      "tundra show", "[NAME...]",
      "Show WireGuard interfaces as `wg show` does (interface: public key, listening\n"
      "port, fwmark; per peer: endpoint, allowed ips, latest handshake, transfer,\n"
      "persistent keepalive) plus, for interfaces run by tundra, the dropped packets\n"
      "by reason and the TUN offload counters. Without NAME: every interface with a\n"
      "UAPI socket in /var/run/wireguard (tundra's and wireguard-go's). Private and\n"
      "preshared keys are never printed.\n\n"
      "--json prints one JSON object {\"interfaces\": [...]} for scripts; --prometheus the\n"
      "Prometheus text exposition format (labels interface and peer; counters end in\n"
      "_total), e.g. for node_exporter's textfile collector.");
  p.Flag("json", "print JSON");
  p.Flag("prometheus", "print the Prometheus text exposition format");
  auto parsed = p.Parse(args, 0, 64);
  if (!parsed.ok()) return ReportError(parsed.error(), kExitUsage);
  if (parsed->help_requested()) {
    fmt::print("{}", p.Usage());
    return kExitOk;
  }
  if (parsed->Has("json") && parsed->Has("prometheus")) {
    return ReportError(InvalidArgument("show: --json and --prometheus exclude each other"),
                       kExitUsage);
  }
  const ShowFormat format = parsed->Has("json")         ? ShowFormat::kJson
                            : parsed->Has("prometheus") ? ShowFormat::kPrometheus
                                                        : ShowFormat::kText;
  std::vector<std::string> warnings;
  auto out = RenderShow(parsed->positional(), format, uapi::kDefaultSocketDir, warnings);
  for (const std::string& w : warnings) fmt::print(stderr, "tundra: show: {} (skipped)\n", w);
  if (!out.ok()) return ReportError(out.error().Wrap("show"));
  fmt::print("{}", *out);
  return kExitOk;
}

}  // namespace tundra::cli
