#include "tundra/impair/link.h"

#include <algorithm>
#include <utility>

namespace tundra::impair {

Link::Link(const DirectionConfig& config, uint64_t seed, Options options)
    : model_(config, seed), options_(options) {}

Link::Buffer Link::Take(std::span<const uint8_t> packet, uint64_t tag) {
  Buffer b;
  if (!free_.empty()) {
    b = std::move(free_.back());
    free_.pop_back();
  }
  b.headroom = options_.headroom;
  b.tag = tag;
  b.bytes.resize(options_.headroom + packet.size());
  std::copy(packet.begin(), packet.end(), b.bytes.begin() + ptrdiff_t(options_.headroom));
  return b;
}

size_t Link::Admit(TimePoint now, std::span<uint8_t> packet, uint64_t tag, Decision* decision) {
  const Decision d = model_.Decide(now, packet);
  if (decision != nullptr) *decision = d;
  size_t held = 0;
  for (size_t i = 0; i < d.copies; ++i) {
    if (held_.size() >= options_.max_held) {
      model_.CountDrop(DropReason::kQueueFull);
      continue;
    }
    held_.Push(d.release[i], Take(packet, tag));
    ++held;
  }
  return held;
}

size_t Link::PopDue(TimePoint now, std::vector<Buffer>& out, size_t max) {
  return held_.PopDue(now, max, [&](Buffer b) { out.push_back(std::move(b)); });
}

void Link::Recycle(Buffer buffer) {
  // Spares are kept up to a bound, and only small ones (a rare jumbo buffer is freed), so the
  // memory kept for reuse stays below kMaxSpareBuffers * kMaxSpareBytes.
  if (free_.size() < kMaxSpareBuffers && buffer.bytes.capacity() <= kMaxSpareBytes) {
    free_.push_back(std::move(buffer));
  }
}

}  // namespace tundra::impair
