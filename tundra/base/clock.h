// Time. Protocol code reads time only through a Clock so tests can drive it (FakeClock).
//   Now():     monotonic, includes suspend (CLOCK_BOOTTIME), for every timer and age.
//   WallNow(): realtime, only for TAI64N timestamps and last-handshake reporting.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <mutex>

namespace tundra {

struct BootClock {
  using rep = int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<BootClock, duration>;
  static constexpr bool is_steady = true;
  static time_point now();
};

using TimePoint = BootClock::time_point;
using Duration = std::chrono::nanoseconds;

// Wall-clock instant as seconds + nanoseconds since the Unix epoch.
struct WallTime {
  int64_t sec = 0;
  int64_t nsec = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  virtual WallTime WallNow() const = 0;

  // The process-wide real clock: Now() is BootClock, WallNow() is CLOCK_REALTIME.
  static const Clock& Real();
};

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
