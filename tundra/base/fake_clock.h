// FakeClock: a Clock for tests that moves only when told (test-only: tundra_base_testing).
#pragma once

#include <mutex>

#include "tundra/base/clock.h"

namespace tundra {

// A clock that moves only when told. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::hours(1)),
                     WallTime wall = {1577836800, 0})  // 2020-01-01T00:00:00Z
      : now_(start), wall_(wall) {}
  TimePoint Now() const override;
  WallTime WallNow() const override;
  void Advance(Duration d);
  void SetWall(WallTime w);

 private:
  mutable std::mutex mu_;
  TimePoint now_;
  WallTime wall_;
};

}  // namespace tundra
