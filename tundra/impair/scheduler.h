// Scheduler<T>: items held until their release time, a min-heap by (time, arrival order), so
// copies due at the same instant leave in the order they were pushed. No clock, no sleeping:
// the caller waits until NextRelease() (epoll timeout or timerfd) and calls PopDue(now).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include "tundra/base/clock.h"

namespace tundra::impair {

template <typename T>
class Scheduler {
 public:
  void Push(TimePoint at, T item) { heap_.push(Entry{at, next_seq_++, std::move(item)}); }
  size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }
  std::optional<TimePoint> NextRelease() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.top().at;
  }
  // Calls `f(item)` for every item due at or before `now`, earliest first; returns how many.
  template <typename F>
  size_t PopDue(TimePoint now, F&& f) {
    return PopDue(now, SIZE_MAX, std::forward<F>(f));
  }
  // The same, for at most `max` items.
  template <typename F>
  size_t PopDue(TimePoint now, size_t max, F&& f) {
    size_t n = 0;
    while (n < max && !heap_.empty() && heap_.top().at <= now) {
      // top() is const: move out through a const_cast of the entry we pop right away.
      T item = std::move(const_cast<Entry&>(heap_.top()).item);
      heap_.pop();
      f(std::move(item));
      ++n;
    }
    return n;
  }

 private:
  struct Entry {
    TimePoint at;
    uint64_t seq;
    T item;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };
  std::priority_queue<Entry, std::vector<Entry>, Later> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace tundra::impair
