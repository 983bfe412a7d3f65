#include "tundra/tun/sysfs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "tundra/base/syscall.h"
#include "tundra/base/unique_fd.h"

namespace tundra::tun {
namespace {

std::string NetPath(std::string_view sysfs_root, std::string_view ifname) {
  std::string path(sysfs_root);
  path += '/';
  path += ifname;
  return path;
}

}  // namespace

Result<std::string> ReadNetAttr(std::string_view sysfs_root, std::string_view ifname,
                                std::string_view attr) {
  std::string path = NetPath(sysfs_root, ifname);
  path += '/';
  path += attr;
  UniqueFd fd(RetryOnEintr(::open, path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open(" + path + ")");
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = RetryOnEintr(::read, fd.get(), buf, sizeof(buf));
    if (n < 0) return ErrnoError("read(" + path + ")");
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > 65536) break;  // sysfs attributes are one page at most
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

bool NetDeviceExists(std::string_view sysfs_root, std::string_view ifname) {
  struct stat st;
  return ::stat(NetPath(sysfs_root, ifname).c_str(), &st) == 0;
}

}  // namespace tundra::tun
