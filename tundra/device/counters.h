// Device-wide counters of dropped packets, one per proto::DropReason. Lock-free; incremented on
// the data path, read by `tundra stats` (the UAPI tundra_stats=1 reply) and tests.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "tundra/proto/drop_reason.h"

namespace tundra::device {

class DropCounters {
 public:
  void Add(proto::DropReason reason, uint64_t n = 1) {
    counts_[static_cast<size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Get(proto::DropReason reason) const {
    return counts_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
  }
  uint64_t Total() const {
    uint64_t t = 0;
    for (size_t i = 1; i < proto::kDropReasonCount; ++i)
      t += counts_[i].load(std::memory_order_relaxed);
    return t;
  }
  using Snapshot = std::array<uint64_t, proto::kDropReasonCount>;
  Snapshot Read() const {
    Snapshot s{};
    for (size_t i = 0; i < s.size(); ++i) s[i] = counts_[i].load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, proto::kDropReasonCount> counts_{};
};

}  // namespace tundra::device
