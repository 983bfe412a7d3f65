// tundra stats IFNAME: the daemon's counters of dropped packets, one per reason, read over the
// UAPI socket with tundra's read-only extension (`tundra_stats=1`).
#include <fmt/core.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tundra/base/syscall.h"
#include "tundra/base/unique_fd.h"
#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/uapi/server.h"

namespace tundra::cli {
namespace {

Result<std::string> Query(const std::string& path) {
  int raw = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (raw < 0) return ErrnoError("socket(AF_UNIX)");
  UniqueFd fd(raw);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(raw, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoError(fmt::format("connect({})", path));
  }
  const std::string request = "tundra_stats=1\n\n";
  if (RetryOnEintr(::send, raw, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    return ErrnoError(fmt::format("send({})", path));
  }
  std::string reply;
  char buf[4096];
  while (reply.size() < 2 || reply.compare(reply.size() - 2, 2, "\n\n") != 0) {
    ssize_t n = RetryOnEintr(::read, raw, buf, sizeof(buf));
    if (n < 0) return ErrnoError(fmt::format("read({})", path));
    if (n == 0) break;
    reply.append(buf, size_t(n));
  }
  return reply;
}

}  // namespace

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
  auto reply = Query(uapi::SocketPath(ifname));
  if (!reply.ok()) return ReportError(reply.error().Wrap(fmt::format("stats {}", ifname)));
  if (reply->empty()) {
    return ReportError(MakeError(
        EPROTO,
        fmt::format("stats {}: the daemon gave no statistics (not run by tundra?)", ifname)));
  }
  uint64_t total = 0;
  std::string out, offloads;
  size_t start = 0;
  while (start < reply->size()) {
    size_t end = reply->find('\n', start);
    if (end == std::string::npos) end = reply->size();
    const std::string line = reply->substr(start, end - start);
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
