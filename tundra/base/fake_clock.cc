#include "tundra/base/fake_clock.h"

namespace tundra {

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
