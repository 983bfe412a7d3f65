#include "tundra/proto/replay.h"

namespace tundra::proto {

void ReplayWindow::Reset() {
  last_ = 0;
  ring_[0] = 0;
}

bool ReplayWindow::Validate(uint64_t counter, uint64_t limit) {
  if (counter >= limit) return false;
  uint64_t block = counter >> kBlockBitLog;
  if (counter > last_) {
    // Slide forward, clearing the blocks passed over (the whole ring at most).
    const uint64_t current = last_ >> kBlockBitLog;
    uint64_t diff = block - current;
    if (diff > kReplayBlocks) diff = kReplayBlocks;
    for (uint64_t i = current + 1; i <= current + diff; ++i) ring_[i & kBlockMask] = 0;
    last_ = counter;
  } else if (last_ - counter > kReplayWindow) {
    return false;  // behind the window
  }
  block &= kBlockMask;
  const uint64_t bit = uint64_t{1} << (counter & kBitMask);
  const uint64_t old = ring_[block];
  ring_[block] = old | bit;
  return (old & bit) == 0;
}

}  // namespace tundra::proto
