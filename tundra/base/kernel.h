// KernelInterface: the syscalls the device layer makes, behind virtuals so TUN flags, rollback
// and netlink messages can be unit-tested without root (quiche QBONE's kernel_interface.h).
//
// Production code takes a `KernelInterface&` (default: RealKernel()). The caller owns the
// interface and makes sure it outlives every object that borrows it. Methods mirror the libc
// calls exactly: they return -1 and set errno on failure.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>

namespace tundra {

class KernelInterface {
 public:
  virtual ~KernelInterface() = default;

  virtual int open(const char* path, int flags) = 0;
  virtual int close(int fd) = 0;
  virtual int ioctl(int fd, unsigned long request, void* arg) = 0;
  virtual int fcntl(int fd, int cmd, int arg) = 0;
  virtual ssize_t read(int fd, void* buf, size_t count) = 0;
  virtual ssize_t write(int fd, const void* buf, size_t count) = 0;
  virtual ssize_t readv(int fd, const struct iovec* iov, int iovcnt) = 0;
  virtual ssize_t writev(int fd, const struct iovec* iov, int iovcnt) = 0;
  virtual int socket(int domain, int type, int protocol) = 0;
  virtual int bind(int fd, const struct sockaddr* addr, socklen_t len) = 0;
  virtual ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) = 0;
  virtual ssize_t recvmsg(int fd, struct msghdr* msg, int flags) = 0;
  virtual int setsockopt(int fd, int level, int name, const void* val, socklen_t len) = 0;
  virtual int getsockopt(int fd, int level, int name, void* val, socklen_t* len) = 0;
};

// The process-wide real implementation (plain libc calls).
KernelInterface& RealKernel();

}  // namespace tundra
