// Anti-replay window for data-message counters: RFC 6479's ring of bit blocks, 8128 counters
// wide (kernel counter.c, wireguard-go replay/replay.go).
//
// Not thread-safe (Keypair guards it with a mutex). Call Validate only after the AEAD tag
// verified, so forged packets cannot move the window.
#pragma once

#include <array>
#include <cstdint>

#include "tundra/proto/constants.h"

namespace tundra::proto {

class ReplayWindow {
 public:
  ReplayWindow() { Reset(); }
  void Reset();
  // Accepts (and records) `counter` if it is below `limit`, no more than kReplayWindow behind
  // the highest counter seen, and not seen before.
  [[nodiscard]] bool Validate(uint64_t counter, uint64_t limit);

 private:
  static constexpr unsigned kBlockBitLog = 6;
  static constexpr uint64_t kBlockBits = uint64_t{1} << kBlockBitLog;
  static constexpr uint64_t kBlockMask = kReplayBlocks - 1;
  static constexpr uint64_t kBitMask = kBlockBits - 1;
  static_assert((kReplayBlocks & (kReplayBlocks - 1)) == 0, "ring size must be a power of 2");

  uint64_t last_ = 0;  // highest counter seen
  std::array<uint64_t, kReplayBlocks> ring_{};
};

}  // namespace tundra::proto
