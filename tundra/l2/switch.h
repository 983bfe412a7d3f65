// The forwarding decision of a TAP-mode interface (docs/l2.md, "Forwarding"): for one frame
// and where it came from, what to do with it. Sans-IO: the device does the sending.
//
//   mode = switch (default): learn the source on the ingress port; known unicast goes to its
//          port; broadcast, multicast and unknown unicast are flooded.
//   mode = hub: no table; every frame is flooded.
//   forward = no (default): a frame from a peer only reaches the local TAP, never another peer.
//   forward = yes: a frame from a peer may be relayed to other peers, once: what it relays goes
//          as kMarkerRelayed, and a relayed frame is never relayed again (at most two tunnel
//          hops, so no forwarding loop in any topology; docs/l2.md, "Loop safety").
//
// Thread-safe: Decide runs on any number of workers at once (the table's locking, mac_table.h);
// set_mode/set_forward take effect for the frames decided after them.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "tundra/base/bytes.h"
#include "tundra/base/clock.h"
#include "tundra/l2/allowed_macs.h"
#include "tundra/l2/drop_reason.h"
#include "tundra/l2/frame.h"
#include "tundra/l2/mac_table.h"

namespace tundra::l2 {

enum class Mode : uint8_t { kSwitch, kHub };
const char* ModeName(Mode mode);  // "switch", "hub"

// Where a frame came from.
struct Ingress {
  static constexpr Ingress Tap() { return Ingress{}; }
  static constexpr Ingress Peer(PeerKey key, bool relayed = false) {
    return Ingress{false, key, relayed};
  }
  Port port() const { return from_tap ? Port::Tap() : Port::Peer(peer); }

  bool from_tap = true;
  PeerKey peer = 0;
  bool relayed = false;  // it arrived as kMarkerRelayed (from a peer only)
};

struct Decision {
  enum class Action : uint8_t {
    kDrop,     // count `reason`
    kTap,      // write to the local TAP only
    kUnicast,  // send to `peer` only
    kFlood,    // send to every peer but `exclude` (when has_exclude); to the TAP too if flood_tap
  };
  static Decision Drop(DropReason r) { return Decision{Action::kDrop, r}; }
  static Decision ToTap() { return Decision{Action::kTap}; }
  static Decision Unicast(PeerKey p, bool relayed) {
    return Decision{Action::kUnicast, DropReason::kNone, p, false, false, 0, relayed};
  }
  static Decision FloodFromTap() { return Decision{Action::kFlood}; }
  static Decision FloodFromPeer(PeerKey ingress) {
    return Decision{Action::kFlood, DropReason::kNone, 0, true, true, ingress, true};
  }

  bool operator==(const Decision&) const = default;
  std::string ToString() const;  // "drop(not_forwarding)", "unicast(7)", "flood(tap, -3, relayed)"

  Action action = Action::kDrop;
  DropReason reason = DropReason::kNone;
  PeerKey peer = 0;        // kUnicast
  bool flood_tap = false;  // kFlood
  bool has_exclude = false;
  PeerKey exclude = 0;
  bool relayed = false;  // kUnicast, kFlood: the peers get it as kMarkerRelayed
};

struct SwitchOptions {
  Mode mode = Mode::kSwitch;
  bool forward = false;
  // The largest frame taken (MaxFrameSizeFor(the TAP's MTU)); longer: kFrameTooLong.
  size_t max_frame = kMaxFrameSize;
  MacTableOptions table;
};

class Switch {
 public:
  // `options.table` must be valid (ValidateMacTableOptions).
  explicit Switch(const SwitchOptions& options);

  // `frame`: the Ethernet frame (from the TAP, or ReadMessage's from a peer). `allowed`: the
  // ingress peer's AllowedMACs, nullptr or empty for none (ignored for the TAP). `parsed`, when
  // given, receives the parsed frame (valid when the decision is not a framing drop).
  Decision Decide(ByteSpan frame, const Ingress& ingress, const AllowedMacs* allowed, TimePoint now,
                  Frame* parsed = nullptr);

  Mode mode() const { return mode_.load(std::memory_order_relaxed); }
  bool forward() const { return forward_.load(std::memory_order_relaxed); }
  void set_mode(Mode mode) { mode_.store(mode, std::memory_order_relaxed); }
  void set_forward(bool forward) { forward_.store(forward, std::memory_order_relaxed); }
  // The largest frame taken: the device follows its TAP's MTU (`ip link set mtu`).
  size_t max_frame() const { return max_frame_.load(std::memory_order_relaxed); }
  void set_max_frame(size_t max_frame) { max_frame_.store(max_frame, std::memory_order_relaxed); }

  // Learned entries (switch mode; hub mode learns nothing). The device calls Expire from its
  // control timer and RemovePort when it removes a peer.
  MacTable& table() { return table_; }
  const MacTable& table() const { return table_; }

 private:
  Decision Flood(const Ingress& ingress, bool forward) const;

  std::atomic<size_t> max_frame_;
  std::atomic<Mode> mode_;
  std::atomic<bool> forward_;
  MacTable table_;
};

}  // namespace tundra::l2
