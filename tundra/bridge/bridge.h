// Bridge: a user-space bridge between two TunDevices (two TAPs, or two TUNs) — the tuntap
// documentation's br_select example done properly: one epoll set (level-triggered) over both
// queues and a stop fd, batched non-blocking reads, every frame read from one side written to
// the other, counters per direction, and per-reason drops from the devices themselves.
//
//   auto bridge = Bridge::Create(tap_a, tap_b, stop_fd).value();
//   Status st = bridge->Run();          // until stop_fd becomes readable (signalfd, eventfd)
//   fmt::print("{}", bridge->FormatCounters());
//
// With Options::impair, each direction crosses a simulated link (tundra/impair: loss, delay,
// jitter, reorder, duplicate, corrupt, rate, MTU — the ns-3 TapBridge use): frames read are
// admitted to that direction's impair::Link and written when their release time comes, a
// timerfd in the same epoll set waking the loop at the earliest release. A direction with an
// MTU and TooBigReply (`--mtu N --mtu-reply icmp`) answers a packet over N with an ICMP
// fragmentation needed / ICMPv6 packet too big written back into the side it came from (inside
// an Ethernet frame, MACs swapped, on TAP sides), rate-limited (impair::Impairment).
//
// Threading: Run()/RunOnce() on one thread; the counters may be read from any thread.
// No allocation on the forwarding path: the batch buffers are allocated in Create(), and an
// impaired direction reuses its recycled buffers (impair::Link).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tundra/base/clock.h"
#include "tundra/base/result.h"
#include "tundra/base/unique_fd.h"
#include "tundra/impair/link.h"
#include "tundra/tun/tun_device.h"

namespace tundra::bridge {

struct DirectionCounters {
  std::atomic<uint64_t> frames{0};     // read from the input device
  std::atomic<uint64_t> bytes{0};      // bytes of those frames
  std::atomic<uint64_t> forwarded{0};  // accepted by the output device
  std::atomic<uint64_t> dropped{0};    // read but not accepted (reasons: output's drops())
};

class Bridge {
 public:
  // A simulated link between the two sides; a_to_b seeded with `seed`, b_to_a with seed + 1.
  struct Impair {
    impair::DirectionConfig a_to_b;
    impair::DirectionConfig b_to_a;
    uint64_t seed = 0;
  };
  struct Options {
    size_t batch_size = 32;
    size_t max_frame = tun::kMaxPacketSize;  // per-buffer capacity after the headroom
    std::optional<Impair> impair;            // none: frames are forwarded at once
    bool ethernet = false;  // TAP sides: frames start with an Ethernet header, which the
                            // impairment's MTU does not count
    const Clock* clock = &Clock::Real();  // the impairment's time
  };

  // `a`, `b` and `stop_fd` (borrowed) must outlive the bridge.
  static Result<std::unique_ptr<Bridge>> Create(tun::TunDevice& a, tun::TunDevice& b, int stop_fd,
                                                Options options);
  static Result<std::unique_ptr<Bridge>> Create(tun::TunDevice& a, tun::TunDevice& b, int stop_fd) {
    return Create(a, b, stop_fd, Options{});
  }

  // Forwards until stop_fd is readable (OK) or a device fails (its error, e.g. the interface
  // was deleted).
  Status Run();
  // One epoll_wait(timeout_ms) round; false once stop_fd is readable.
  Result<bool> RunOnce(int timeout_ms);

  const DirectionCounters& a_to_b() const { return a_to_b_; }
  const DirectionCounters& b_to_a() const { return b_to_a_; }
  // The impairment counters of a direction (nullptr without Options::impair). Read them from
  // the Run() thread, or after Run() returned.
  const impair::Counters* a_to_b_impairment() const;
  const impair::Counters* b_to_a_impairment() const;
  // Multi-line summary: both directions plus each device's drops by reason (and the
  // impairment counters with Options::impair).
  std::string FormatCounters() const;

 private:
  Bridge(tun::TunDevice& a, tun::TunDevice& b, int stop_fd, Options options, UniqueFd epoll_fd);
  // Moves one batch from `from` to `to` (or into `link`, which holds it for later).
  Status Forward(tun::TunDevice& from, tun::TunDevice& to, DirectionCounters& counters,
                 impair::Link* link);
  // Writes what `link` releases by now to `to`, then arms the timer at the next release.
  Status ReleaseDue(impair::Link& link, tun::TunDevice& to, DirectionCounters& counters);
  Status ArmTimer();
  // Answers `frame` (read from `from`, dropped by `link` as too big) when the model allows.
  Status AnswerTooBig(tun::TunDevice& from, impair::Link& link, ByteSpan frame, TimePoint now);

  tun::TunDevice& a_;
  tun::TunDevice& b_;
  const int stop_fd_;
  const Options options_;
  UniqueFd epoll_fd_;
  std::vector<uint8_t> storage_;
  std::vector<MutableByteSpan> bufs_;  // whole buffers, for Read
  std::vector<MutableByteSpan> out_;   // headroom + frame, for Write
  std::vector<size_t> sizes_;
  DirectionCounters a_to_b_;
  DirectionCounters b_to_a_;
  std::optional<impair::Link> link_ab_, link_ba_;  // with Options::impair
  UniqueFd timer_fd_;                              // with Options::impair
  std::vector<impair::Link::Buffer> due_;
  std::vector<uint8_t> reply_;  // headroom + Ethernet header + an ICMP error
};

}  // namespace tundra::bridge
