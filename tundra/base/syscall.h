// RetryOnEintr: repeats a libc-style call while it fails with EINTR (quiche SyscallWrapper).
// Never use it for close().
#pragma once

#include <cerrno>
#include <utility>

namespace tundra {

template <typename F, typename... Args>
auto RetryOnEintr(F&& f, Args&&... args) {
  for (;;) {
    auto r = f(args...);
    if (!(r == -1 && errno == EINTR)) return r;
  }
}

}  // namespace tundra
