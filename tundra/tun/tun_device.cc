#include "tundra/tun/tun_device.h"

#include <fmt/core.h>

namespace tundra::tun {

std::string_view TunDropReasonName(TunDropReason reason) {
  switch (reason) {
    case TunDropReason::kTruncated:
      return "truncated";
    case TunDropReason::kBadPi:
      return "bad_pi";
    case TunDropReason::kBadVnetHdr:
      return "bad_vnet_hdr";
    case TunDropReason::kUnsupportedGso:
      return "unsupported_gso";
    case TunDropReason::kBadPacket:
      return "bad_packet";
    case TunDropReason::kWriteRejected:
      return "write_rejected";
    case TunDropReason::kWriteWouldBlock:
      return "write_would_block";
    case TunDropReason::kQueueFull:
      return "queue_full";
    case TunDropReason::kCount:
      break;
  }
  return "unknown";
}

uint64_t TunDropCounters::Total() const {
  uint64_t total = 0;
  for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
  return total;
}

std::string TunDropCounters::ToString() const {
  std::string out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    const uint64_t n = counts_[i].load(std::memory_order_relaxed);
    if (n == 0) continue;
    if (!out.empty()) out += ' ';
    out += fmt::format("{}={}", TunDropReasonName(static_cast<TunDropReason>(i)), n);
  }
  return out.empty() ? "none" : out;
}

}  // namespace tundra::tun
