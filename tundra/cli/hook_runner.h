// PeerUp/PeerDown hooks: the device reports peer up/down events (device/peer_event.h); a
// HookRunner queues them and runs the matching hook lines (cli/hooks.h RunHook) on its own
// thread, off the data path. Post() never blocks: the queue is bounded (kHookQueueCapacity)
// and an event that does not fit is dropped and counted (and logged, rate-limited).
//
// Which lines run for an event: the interface-wide ones (`PeerUp`/`PeerDown` in [Interface],
// `--peer-up`/`--peer-down`) first, then that peer's own ([Peer]), each in the order given,
// with %i = interface, %k = the peer's public key (base64), %e = its endpoint ("" if none).
// A failing line is logged and the next one still runs.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tundra/base/result.h"
#include "tundra/cli/hooks.h"
#include "tundra/crypto/secret.h"
#include "tundra/device/peer_event.h"

namespace tundra::cli {

inline constexpr size_t kHookQueueCapacity = 64;

// One peer's own hook lines ([Peer] PeerUp/PeerDown).
struct PeerHookSpec {
  crypto::PublicKey public_key{};
  std::vector<std::string> up, down;
};

// Every hook line the daemon knows (DaemonOptions::hooks).
struct PeerHooks {
  std::vector<std::string> up, down;  // for every peer
  std::vector<PeerHookSpec> peers;    // per peer, after the interface-wide lines
  bool empty() const;
  // The lines an event of `kind` for `peer` runs, in order.
  std::vector<std::string> LinesFor(device::PeerEventKind kind,
                                    const crypto::PublicKey& peer) const;
};

class HookRunner {
 public:
  // How a line runs (RunHook; tests pass a recorder).
  using RunFn = std::function<Status(std::string_view line, const HookContext& ctx)>;

  HookRunner(std::string ifname, PeerHooks hooks, RunFn run, size_t capacity = kHookQueueCapacity);
  ~HookRunner();  // Stop()
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  void Start();
  // Any thread, never blocks for long (a short mutex): queues the event's lines, if it has any.
  void Post(const device::PeerEvent& event);
  // Lets the line running now finish (RunHook's time limit bounds it), drops what is still
  // queued (counted as dropped), and joins the thread. Idempotent.
  void Stop();

  struct Counters {
    uint64_t ran = 0;      // lines run (successful or not)
    uint64_t failed = 0;   // lines that did not exit 0
    uint64_t dropped = 0;  // events that found the queue full, or were left at Stop
  };
  Counters counters() const;
  // Tests: true once nothing is queued or running, waiting up to `timeout`.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  struct Job {
    device::PeerEventKind kind;
    std::vector<std::string> lines;
    HookContext ctx;
  };
  void Loop();

  const std::string ifname_;
  const PeerHooks hooks_;
  const RunFn run_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;     // guarded by mu_
  bool running_job_ = false;  // guarded by mu_
  bool stopping_ = false;     // guarded by mu_
  Counters counters_;         // guarded by mu_
  std::thread thread_;
};

}  // namespace tundra::cli
