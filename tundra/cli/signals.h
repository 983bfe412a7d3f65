// Signals taken through a signalfd: the commands that run until a signal (the daemon, the
// bridge, impair) block them and watch one fd in their poll loop.
#pragma once

#include <sys/signalfd.h>

#include <csignal>
#include <initializer_list>

#include "tundra/base/error.h"
#include "tundra/base/result.h"
#include "tundra/base/unique_fd.h"

namespace tundra::cli {

// Blocks `signals` (call before any thread starts, so every thread inherits the mask) and
// returns a non-blocking signalfd that becomes readable when one arrives.
inline Result<UniqueFd> BlockedSignalFd(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return ErrnoError("sigprocmask");
  UniqueFd fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) return ErrnoError("signalfd");
  return fd;
}

}  // namespace tundra::cli
