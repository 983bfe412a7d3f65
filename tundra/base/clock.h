// Time. Protocol code reads time only through a Clock so tests can drive it (FakeClock,
// fake_clock.h, test-only).
//   Now():     monotonic, includes suspend (CLOCK_BOOTTIME), for every timer and age.
//   WallNow(): realtime, only for TAI64N timestamps and last-handshake reporting.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>

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

// TEST-ONLY KNOB (the daemon's TUNDRA_TEST_TIME_SCALE, docs/testing.md): a clock whose Now()
// runs `scale` times as fast as the real one from the moment it is made, so system tests see
// REKEY_AFTER_TIME, REJECT_AFTER_TIME and the other protocol timers pass in seconds. WallNow()
// stays real (TAI64N timestamps still increase; `wg show` reports true handshake times). Never
// used unless that variable is set.
class ScaledClock final : public Clock {
 public:
  explicit ScaledClock(double scale);
  TimePoint Now() const override;
  WallTime WallNow() const override { return Clock::Real().WallNow(); }
  double scale() const { return scale_; }

 private:
  double scale_;
  TimePoint origin_;
};

}  // namespace tundra
