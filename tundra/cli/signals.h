// Signals taken through a signalfd: the commands that run until a signal (the daemon, the
// bridge, impair) block them and watch one fd in their poll loop.
#pragma once

#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
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

// Reads every pending signal from `signal_fd`: SIGUSR1 calls `on_usr1` (print the counters);
// any other ends the run: "COMMAND: SIGTERM received, stopping" on stderr, and true.
template <typename F>
bool ReadSignals(int signal_fd, const char* command, F&& on_usr1) {
  signalfd_siginfo info;
  bool stop = false;
  while (::read(signal_fd, &info, sizeof(info)) == ssize_t(sizeof(info))) {
    if (info.ssi_signo == SIGUSR1) {
      on_usr1();
      continue;
    }
    const char* abbrev = sigabbrev_np(int(info.ssi_signo));
    std::fprintf(stderr, "%s: SIG%s received, stopping\n", command,
                 abbrev != nullptr ? abbrev : "?");
    stop = true;
  }
  return stop;
}

}  // namespace tundra::cli
