// tundra bridge IF1 IF2 [--mode tap|tun] [impairments]: join two TAP (or two TUN) interfaces in
// user space, optionally across a simulated link (the options of `tundra impair`).
//
// Creates each interface (non-persistent: it disappears when the bridge exits) or attaches to an
// existing persistent one, forwards frames both ways until SIGINT/SIGTERM (signalfd), then
// prints the counters on stdout and exits 0.
#include <fmt/core.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "tundra/bridge/bridge.h"
#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/cli/impair_options.h"
#include "tundra/cli/signals.h"
#include "tundra/crypto/random.h"
#include "tundra/tun/tun_linux.h"

namespace tundra::cli {
namespace {

// TUN sides use the offloads: TCP/UDP super-packets are split on read and coalesced again on
// write, so a bulk transfer costs a few syscalls per 64 KiB instead of one per packet.
Result<std::unique_ptr<tun::LinuxTun>> OpenSide(const std::string& name, tun::TunMode mode) {
  tun::TunOptions options;
  options.name = name;
  options.mode = mode;
  options.no_pi = true;
  options.vnet_hdr = mode == tun::TunMode::kTun;
  TUNDRA_ASSIGN_OR_RETURN(auto side, tun::LinuxTun::Open(options));
  if (side->vnet_hdr()) (void)side->EnableOffloads();  // without: one packet at a time
  return side;
}

}  // namespace

int RunBridge(CommandArgs args) {
  ArgParser p("tundra bridge", "IF1 IF2",
              "Join two TAP (or two TUN) interfaces in user space: every frame read from one\n"
              "is written to the other. Interfaces that do not exist are created and disappear\n"
              "when the bridge exits; existing persistent ones are attached to. Runs until\n"
              "SIGINT or SIGTERM, then prints per-direction counters and drops by reason. TUN\n"
              "sides use the kernel's TSO/USO offloads (super-packets split, then coalesced).\n"
              "The impairment options of `tundra impair` put a simulated link between the two\n"
              "(--NAME-up: IF1 -> IF2 only, --NAME-down: IF2 -> IF1); counters then include\n"
              "the impairment's. With --mtu N --mtu-reply icmp, a packet over N (IP bytes, the\n"
              "Ethernet header not counted) is answered with an ICMP fragmentation needed (IPv4\n"
              "with DF; without DF it is only dropped) or ICMPv6 packet too big carrying N, so\n"
              "path MTU discovery works across the bridge. SIGUSR1 prints the counters. See\n"
              "docs/impair.md.");
  p.Option("mode", "MODE", "tap (default) or tun").Option("batch", "N", "frames per batch (32)");
  AddImpairOptions(p, "IF1 -> IF2", "IF2 -> IF1");
  auto parsed = p.Parse(args, 2, 2);
  if (!parsed.ok()) return ReportError(parsed.error(), kExitUsage);
  if (parsed->help_requested()) {
    fmt::print("{}", p.Usage());
    return kExitOk;
  }
  const std::string& if1 = parsed->positional()[0];
  const std::string& if2 = parsed->positional()[1];
  if (if1 == if2) {
    return ReportError(InvalidArgument(fmt::format("bridge: {} cannot be bridged to itself", if1)),
                       kExitUsage);
  }
  tun::TunMode mode = tun::TunMode::kTap;
  if (auto m = parsed->Get("mode")) {
    auto parsed_mode = tun::ParseTunMode(*m);
    if (!parsed_mode.ok()) return ReportError(parsed_mode.error().Wrap("bridge"), kExitUsage);
    mode = *parsed_mode;
  }
  bridge::Bridge::Options options;
  options.ethernet = mode == tun::TunMode::kTap;
  if (auto b = parsed->Get("batch")) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(b->c_str(), &end, 10);
    if (b->empty() || *end != '\0' || n == 0 || n > 1024) {
      return ReportError(InvalidArgument(fmt::format("bridge: --batch '{}' is not in 1..1024", *b)),
                         kExitUsage);
    }
    options.batch_size = n;
  }
  auto impairment = ParseImpairOptions(*parsed);
  if (!impairment.ok()) return ReportError(impairment.error().Wrap("bridge"), kExitUsage);
  uint64_t seed = 0;
  if (impairment->any) {
    seed = impairment->seed.value_or(0);
    if (!impairment->seed) {
      crypto::RandomBytes(MutableByteSpan(reinterpret_cast<uint8_t*>(&seed), sizeof(seed)));
    }
    options.impair = bridge::Bridge::Impair{impairment->up, impairment->down, seed};
  }

  // Signals first, so a SIGTERM that arrives during setup still ends the bridge cleanly.
  auto stop = BlockedSignalFd({SIGINT, SIGTERM, SIGUSR1});
  if (!stop.ok()) return ReportError(stop.error().Wrap("bridge"));
  auto a = OpenSide(if1, mode);
  if (!a.ok()) return ReportError(a.error().Wrap("bridge"));
  auto b = OpenSide(if2, mode);
  if (!b.ok()) return ReportError(b.error().Wrap("bridge"));  // `a` is closed (and removed)
  auto bridge = bridge::Bridge::Create(**a, **b, stop->get(), options);
  if (!bridge.ok()) return ReportError(bridge.error());

  auto describe = [](const tun::LinuxTun& t) {
    return fmt::format("{} ({})", t.name(), t.persistent() ? "attached, persistent" : "created");
  };
  fmt::print(stderr, "tundra bridge: {} <-> {}, mode {}{}; SIGINT or SIGTERM stops\n",
             describe(**a), describe(**b), tun::TunModeName(mode),
             options.impair ? fmt::format(", impaired, seed {}", seed) : "");

  // Run() returns when a signal is pending: SIGUSR1 prints the counters and goes on.
  auto print = [&] {
    fmt::print("{}", (*bridge)->FormatCounters());
    std::fflush(stdout);
  };
  Status st;
  do {
    st = (*bridge)->Run();
  } while (st.ok() && !ReadSignals(stop->get(), "tundra bridge", print));
  fmt::print("{}", (*bridge)->FormatCounters());
  std::fflush(stdout);
  if (!st.ok()) return ReportError(st.error().Wrap("bridge"));
  return kExitOk;
}

}  // namespace tundra::cli
