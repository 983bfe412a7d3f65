// The pieces of `tundra demo` that touch network namespaces and sockets: anonymous namespaces
// held by descriptors (they vanish, with their interfaces, when the last descriptor and
// process in them go), sockets opened inside one of them, an ICMP echo (ping) and a timed TCP
// stream between two of them, all from the calling (single) thread. A signalfd (`stop_fd`)
// interrupts every wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "tundra/base/result.h"
#include "tundra/base/unique_fd.h"
#include "tundra/routing/ip_prefix.h"

namespace tundra::cli::demo {

// A new, empty network namespace (unshare(CLONE_NEWNET), then back to `home`).
Result<UniqueFd> NewNetns(int home);

// Runs `f` with the calling thread in namespace `ns`, then returns to `home`: sockets `f`
// opens stay in `ns`.
Status InNetns(int ns, int home, const std::function<Status()>& f);

// Sleeps `ms`, or less when `stop_fd` becomes readable: false then.
bool Sleep(int stop_fd, int ms);

struct PingResult {
  int sent = 0, received = 0;
  double min_ms = 0, avg_ms = 0, max_ms = 0;
};

// `count` ICMP echo requests from `ns` to `to` (IPv4 or IPv6), 200 ms apart, each answered
// within `timeout`; prints a line per reply as ping does.
Result<PingResult> Ping(int ns, int home, const routing::IpAddress& to, int count,
                        std::chrono::milliseconds timeout, int stop_fd);

struct TransferResult {
  uint64_t sent = 0, received = 0;
  double seconds = 0;
};

// A TCP stream for `seconds` from namespace `from_ns` to `to`:`port` (a listener opened in
// `to_ns`), with a live progress line on stdout; every byte sent must arrive.
Result<TransferResult> Transfer(int from_ns, int to_ns, int home, const routing::IpAddress& to,
                                uint16_t port, double seconds, int stop_fd);

}  // namespace tundra::cli::demo
