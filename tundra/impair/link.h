// Link: one direction of a simulated link — an Impairment (the decisions) and a Scheduler (the
// held copies) over recycled buffers, for the I/O shells of `tundra impair` and `tundra bridge`.
//
//   Link link(config, seed, {.max_held = 200'000, .headroom = 16});
//   link.Admit(clock.Now(), packet);                // 0, 1 or 2 copies held, or counted drops
//   std::vector<Link::Buffer> due;
//   link.PopDue(clock.Now(), due, 64);              // the copies whose time has come, in order
//   for (auto& b : due) { send(b.payload()); link.OnReleased(); link.Recycle(std::move(b)); }
//
// Buffers are allocated only while the number of held copies grows past its previous peak;
// recycled ones are reused (up to kMaxSpareBuffers of up to kMaxSpareBytes), so a steady
// stream of ordinary packets allocates nothing per packet. Each buffer keeps
// `headroom` bytes in front of the payload for a writer that needs them (TunDevice::Write).
// No clock and no I/O: the caller passes the time in and does the sending.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tundra/base/clock.h"
#include "tundra/impair/impairment.h"
#include "tundra/impair/scheduler.h"

namespace tundra::impair {

inline constexpr size_t kDefaultMaxHeld = 200'000;  // copies held per direction
inline constexpr size_t kMaxSpareBuffers = 16'384;  // recycled buffers kept for reuse
inline constexpr size_t kMaxSpareBytes = 4096;      // larger buffers are freed, not kept

class Link {
 public:
  struct Options {
    size_t max_held = kDefaultMaxHeld;  // beyond: the copy is a queue_full drop
    size_t headroom = 0;                // bytes kept free in front of each payload
  };

  // A held copy: headroom bytes, then the payload.
  struct Buffer {
    std::vector<uint8_t> bytes;
    size_t headroom = 0;
    uint64_t tag = 0;  // the caller's (e.g. which connection the bytes belong to)
    std::span<uint8_t> payload() { return std::span(bytes).subspan(headroom); }
    std::span<uint8_t> whole() { return std::span(bytes); }
  };

  Link(const DirectionConfig& config, uint64_t seed, Options options);

  // Decides `packet`'s fate at `now` and holds its copies (the model may flip a bit of
  // `packet` in place). Returns how many copies are held; the model's decision in `*decision`
  // when given (e.g. to answer a too_big drop).
  size_t Admit(TimePoint now, std::span<uint8_t> packet, uint64_t tag = 0,
               Decision* decision = nullptr);

  // Moves up to `max` copies due at or before `now` into `out` (appended), earliest first.
  size_t PopDue(TimePoint now, std::vector<Buffer>& out, size_t max);
  // Gives a buffer back for reuse once its copy has been sent or dropped.
  void Recycle(Buffer buffer);

  std::optional<TimePoint> NextRelease() const { return held_.NextRelease(); }
  size_t held() const { return held_.size(); }

  // The model's accounting: a copy sent, or dropped by the shell (e.g. the writer refused it).
  void OnReleased() { model_.OnReleased(); }
  void CountDrop(DropReason r) { model_.CountDrop(r); }
  Impairment& model() { return model_; }
  const Impairment& model() const { return model_; }

 private:
  Buffer Take(std::span<const uint8_t> packet, uint64_t tag);

  Impairment model_;
  Options options_;
  Scheduler<Buffer> held_;
  std::vector<Buffer> free_;
};

}  // namespace tundra::impair
