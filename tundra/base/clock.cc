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

TimePoint FakeClock::Now() const {
  std::lock_guard lock(mu_);
  return now_;
}

WallTime FakeClock::WallNow() const {
  std::lock_guard lock(mu_);
  return wall_;
}

void FakeClock::Advance(Duration d) {
  std::lock_guard lock(mu_);
  now_ += d;
  int64_t ns = wall_.nsec + d.count();
  wall_.sec += ns / 1'000'000'000;
  wall_.nsec = ns % 1'000'000'000;
  if (wall_.nsec < 0) {
    wall_.nsec += 1'000'000'000;
    wall_.sec -= 1;
  }
}

void FakeClock::SetWall(WallTime w) {
  std::lock_guard lock(mu_);
  wall_ = w;
}

}  // namespace tundra
