#include "tundra/base/timer_fd.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

namespace tundra {
namespace {
constexpr int64_t kNsPerSec = 1'000'000'000;
}  // namespace

Result<UniqueFd> CreateBootTimerFd() {
  UniqueFd fd(::timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!fd) return ErrnoError("timerfd_create(CLOCK_BOOTTIME)");
  return fd;
}

Status ArmTimerFd(int fd, std::optional<TimePoint> at) {
  itimerspec spec{};  // all zero: disarmed
  if (at) {
    // Zero would disarm: a deadline at (or before) the epoch fires at once instead.
    const int64_t ns = std::max<int64_t>(at->time_since_epoch().count(), 1);
    spec.it_value.tv_sec = ns / kNsPerSec;
    spec.it_value.tv_nsec = ns % kNsPerSec;
  }
  if (::timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr) < 0) {
    return ErrnoError("timerfd_settime");
  }
  return OkStatus();
}

void DrainTimerFd(int fd) {
  uint64_t expirations;
  (void)!::read(fd, &expirations, sizeof(expirations));
}

}  // namespace tundra
