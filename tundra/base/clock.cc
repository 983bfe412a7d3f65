#include "tundra/base/clock.h"

namespace tundra {

BootClock::time_point BootClock::now() {
  timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return time_point(duration(int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec));
}

namespace {

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return BootClock::now(); }
  WallTime WallNow() const override {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return {ts.tv_sec, ts.tv_nsec};
  }
};

}  // namespace

const Clock& Clock::Real() {
  static const RealClock clock;
  return clock;
}

ScaledClock::ScaledClock(double scale) : scale_(scale), origin_(BootClock::now()) {}

TimePoint ScaledClock::Now() const {
  const auto real = BootClock::now() - origin_;
  return origin_ + Duration(int64_t(double(real.count()) * scale_));
}

}  // namespace tundra
