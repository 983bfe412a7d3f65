// A timerfd armed at absolute BootClock times: the poll loops that release held packets at
// their time (tundra impair, tundra bridge) watch one and re-arm it at their earliest deadline.
#pragma once

#include <optional>

#include "tundra/base/clock.h"
#include "tundra/base/result.h"
#include "tundra/base/unique_fd.h"

namespace tundra {

// A non-blocking CLOCK_BOOTTIME timerfd (the clock behind Clock::Real()).
Result<UniqueFd> CreateBootTimerFd();
// Arms `fd` to fire at `at` (absolute), or disarms it when `at` is empty.
Status ArmTimerFd(int fd, std::optional<TimePoint> at);
// Reads the expiration count so a level-triggered poll stops reporting the fd.
void DrainTimerFd(int fd);

}  // namespace tundra
