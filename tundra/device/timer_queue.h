// TimerQueue: the device's peer deadlines in one min-heap, so that the control thread wakes
// for the earliest deadline and touches only the peers that are due (a daemon with 100k idle
// peers is idle; the kernel arms one timer_list per peer timer for the same reason).
//
// Lazy deletion: each push is stamped with a sequence number; a peer keeps (under its own
// lock) the sequence and time of its one live entry. An entry whose stamp is not the peer's
// current one is stale and skipped. A peer's deadline that moves later leaves its entry in
// place: the entry fires early, the peer is polled (nothing due) and rescheduled.
//
// Thread-safe (one mutex, never held while calling out). Lock order: Peer::mu, then the
// queue's mutex (Schedule is called with the peer's lock held).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <vector>

#include "tundra/base/clock.h"

namespace tundra::device {

// What a peer keeps about its entry in the queue (guarded by the peer's lock).
struct TimerSlot {
  static constexpr int64_t kNone = INT64_MAX;
  int64_t at_ns = kNone;  // deadline of the live entry, kNone when there is none
  uint64_t seq = 0;       // stamp of the live entry
};

template <typename T>
class TimerQueue {
 public:
  struct Entry {
    TimePoint at;
    std::weak_ptr<T> owner;
    uint64_t seq;
  };

  // Caller holds the owner's lock (which guards `slot`). Pushes an entry when `deadline` is
  // earlier than the owner's live entry; returns true when it did.
  bool Schedule(const std::shared_ptr<T>& owner, TimerSlot& slot,
                std::optional<TimePoint> deadline) {
    if (!deadline) return false;
    const int64_t at = deadline->time_since_epoch().count();
    if (at >= slot.at_ns) return false;
    slot.at_ns = at;
    std::lock_guard lock(mu_);
    slot.seq = ++next_seq_;
    heap_.push(Entry{*deadline, owner, slot.seq});
    return true;
  }

  // Caller holds the owner's lock. True when `e` is the owner's live entry; the slot is then
  // emptied (the caller polls the owner and schedules it again).
  static bool Claim(const Entry& e, TimerSlot& slot) {
    if (e.seq != slot.seq || slot.at_ns == TimerSlot::kNone) return false;
    slot.at_ns = TimerSlot::kNone;
    return true;
  }

  // Removes and returns the earliest entry due at `now`, if any.
  std::optional<Entry> PopDue(TimePoint now) {
    std::lock_guard lock(mu_);
    if (heap_.empty() || heap_.top().at > now) return std::nullopt;
    Entry e = heap_.top();
    heap_.pop();
    return e;
  }

  std::optional<TimePoint> Earliest() const {
    std::lock_guard lock(mu_);
    if (heap_.empty()) return std::nullopt;
    return heap_.top().at;
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return heap_.size();
  }

 private:
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const { return a.at > b.at; }
  };
  mutable std::mutex mu_;
  std::priority_queue<Entry, std::vector<Entry>, Later> heap_;  // guarded by mu_
  uint64_t next_seq_ = 0;                                       // guarded by mu_
};

}  // namespace tundra::device
