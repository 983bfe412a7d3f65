// tundra stats IFNAME: the daemon's counters of dropped packets, one per reason, read over the
// UAPI socket with tundra's read-only extension (`tundra_stats=1`).
#include <fmt/core.h>

#include <string>

#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/uapi/client.h"
#include "tundra/uapi/server.h"

namespace tundra::cli {

int RunStats(CommandArgs args) {
  ArgParser p("tundra stats", "IFNAME",
              "Print the tundra daemon's counters of dropped packets on IFNAME, one per reason\n"
              "(invalid_mac1, replayed, source_not_allowed, no_route, ...; tun_* for the TUN\n"
              "device itself), what the TUN offloads did (super-packets split on read, packets\n"
              "coalesced on write) and the ICMP unreachable errors sent back for packets no peer\n"
              "could take. Counters that are zero are left out unless --all is given.");
  p.Flag("all", "also print counters that are zero");
  auto parsed = p.Parse(args, 1, 1);
  if (!parsed.ok()) return ReportError(parsed.error(), kExitUsage);
  if (parsed->help_requested()) {
    fmt::print("{}", p.Usage());
    return kExitOk;
  }
  const std::string& ifname = parsed->positional()[0];
  if (ifname.find('/') != std::string::npos) {
    return ReportError(
        InvalidArgument(fmt::format("tundra stats: bad interface name '{}'", ifname)), kExitUsage);
  }
  auto exchanged = uapi::Exchange(uapi::SocketPath(ifname), "tundra_stats=1\n\n");
  if (!exchanged.ok()) return ReportError(exchanged.error().Wrap(fmt::format("stats {}", ifname)));
  // Counters only (no keys): a plain string is fine from here on.
  const std::string text(exchanged->data(), exchanged->size());
  if (text.empty()) {
    return ReportError(MakeError(
        EPROTO,
        fmt::format("stats {}: the daemon gave no statistics (not run by tundra?)", ifname)));
  }
  uint64_t total = 0;
  std::string out, offloads;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "errno") {
      if (value != "0")
        return ReportError(MakeError(EPROTO, fmt::format("stats {}: errno={}", ifname, value)));
      continue;
    }
    // drop_REASON (the tunnel), tun_drop_REASON (the TUN layer), then the rest: tun_* (its
    // offloads), icmp_unreachable_sent and the device's other event counters.
    const bool tun = key.rfind("tun_", 0) == 0;
    const std::string rest = tun ? key.substr(4) : key;
    if (rest.rfind("drop_", 0) != 0) {
      if (value != "0" || parsed->Has("all")) offloads += fmt::format("  {:<22} {}\n", rest, value);
      continue;
    }
    const std::string name = (tun ? "tun_" : "") + rest.substr(5);
    total += std::strtoull(value.c_str(), nullptr, 10);
    if (value != "0" || parsed->Has("all")) out += fmt::format("  {:<22} {}\n", name, value);
  }
  fmt::print("{}: dropped packets by reason ({} in all)\n{}", ifname, total, out);
  if (!offloads.empty()) fmt::print("{}: other counters\n{}", ifname, offloads);
  return kExitOk;
}

}  // namespace tundra::cli
