// tun_attach_helper: attaches to an existing TUN/TAP device and exits; used by dev_cli.sh to
// check the owner/group permissions `tundra dev add --owner` sets.
//
//   tun_attach_helper [--fd N] [--mode tun|tap] [--multi-queue] NAME
//
// With --fd N it uses an already-open /dev/net/tun descriptor (opened by the root test shell
// and inherited across setpriv: the clone device may be mode 0600, and the kernel checks the
// owner at TUNSETIFF, not at open). Prints "attached NAME" and exits 0, or prints the error
// and exits 1.
#include <fmt/core.h>

#include <cstdlib>
#include <string>

#include "tundra/tun/tun_linux.h"

int main(int argc, char** argv) {
  using namespace tundra;
  tun::TunOptions options;
  int fd = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--fd" && i + 1 < argc) {
      fd = std::atoi(argv[++i]);
    } else if (a == "--mode" && i + 1 < argc) {
      auto mode = tun::ParseTunMode(argv[++i]);
      if (!mode.ok()) {
        fmt::print(stderr, "{}\n", mode.error().message());
        return 2;
      }
      options.mode = *mode;
    } else if (a == "--multi-queue") {
      options.multi_queue = true;
    } else if (options.name.empty() && a[0] != '-') {
      options.name = a;
    } else {
      fmt::print(stderr,
                 "usage: tun_attach_helper [--fd N] [--mode tun|tap] [--multi-queue] NAME\n");
      return 2;
    }
  }
  auto tun =
      fd >= 0 ? tun::LinuxTun::OpenOnFd(UniqueFd(fd), options) : tun::LinuxTun::Open(options);
  if (!tun.ok()) {
    fmt::print(stderr, "{}\n", tun.error().message());
    return 1;
  }
  fmt::print("attached {}\n", (*tun)->name());
  return 0;
}
