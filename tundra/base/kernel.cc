#include "tundra/base/kernel.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace tundra {
namespace {

class LinuxKernel final : public KernelInterface {
 public:
  int open(const char* path, int flags) override { return ::open(path, flags); }
  int close(int fd) override { return ::close(fd); }
  int ioctl(int fd, unsigned long request, void* arg) override { return ::ioctl(fd, request, arg); }
  int fcntl(int fd, int cmd, int arg) override { return ::fcntl(fd, cmd, arg); }
  ssize_t read(int fd, void* buf, size_t count) override { return ::read(fd, buf, count); }
  ssize_t write(int fd, const void* buf, size_t count) override { return ::write(fd, buf, count); }
  ssize_t readv(int fd, const struct iovec* iov, int iovcnt) override {
    return ::readv(fd, iov, iovcnt);
  }
  ssize_t writev(int fd, const struct iovec* iov, int iovcnt) override {
    return ::writev(fd, iov, iovcnt);
  }
  int socket(int domain, int type, int protocol) override {
    return ::socket(domain, type, protocol);
  }
  int bind(int fd, const struct sockaddr* addr, socklen_t len) override {
    return ::bind(fd, addr, len);
  }
  ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) override {
    return ::sendmsg(fd, msg, flags);
  }
  ssize_t recvmsg(int fd, struct msghdr* msg, int flags) override {
    return ::recvmsg(fd, msg, flags);
  }
  int setsockopt(int fd, int level, int name, const void* val, socklen_t len) override {
    return ::setsockopt(fd, level, name, val, len);
  }
  int getsockopt(int fd, int level, int name, void* val, socklen_t* len) override {
    return ::getsockopt(fd, level, name, val, len);
  }
};

}  // namespace

KernelInterface& RealKernel() {
  static LinuxKernel kernel;
  return kernel;
}

}  // namespace tundra
