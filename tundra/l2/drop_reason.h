// Why TAP mode dropped a frame (docs/l2.md, "Counters"). Rejection is not an error: the device
// counts each reason and logs at a rate-limited debug level. The names are distinct from
// tundra/proto/drop_reason.h's, so both sets can share one counter listing.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tundra::l2 {

enum class DropReason : uint8_t {
  kNone = 0,
  // Framing.
  kFrameTooShort,  // shorter than the Ethernet header, or a VLAN tag cut off
  kFrameTooLong,   // longer than the largest frame the interface takes
  kBadLength,      // an L2 message's length field beyond its bytes, or > 15 bytes behind them
  kIpOnTap,        // an IP packet (0x4_/0x6_) on a TAP-mode interface: the peer runs TUN mode
  kFrameOnTun,     // an L2 message (0x20/0x21) on a TUN-mode interface: the peer runs TAP mode
  // Source checks.
  kInvalidSource,     // source MAC is zero, broadcast or multicast
  kSourceNotAllowed,  // source MAC outside the peer's AllowedMACs
  // Forwarding.
  kToIngress,       // destination learned on the port the frame came from
  kNotForwarding,   // from one peer to another with Forward = no
  kAlreadyRelayed,  // a relayed frame (0x21) whose destination is behind another peer
  kCount
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

// Stable snake_case name, used in logs and `tundra stats` ("frame_too_short", ...).
const char* DropReasonName(DropReason reason);

}  // namespace tundra::l2
