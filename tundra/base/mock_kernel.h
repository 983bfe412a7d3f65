// MockKernel: gmock stand-in for KernelInterface (tests only).
#pragma once

#include <gmock/gmock.h>

#include "tundra/base/kernel.h"

namespace tundra {

class MockKernel : public KernelInterface {
 public:
  MOCK_METHOD(int, open, (const char* path, int flags), (override));
  MOCK_METHOD(int, close, (int fd), (override));
  MOCK_METHOD(int, ioctl, (int fd, unsigned long request, void* arg), (override));
  MOCK_METHOD(int, fcntl, (int fd, int cmd, int arg), (override));
  MOCK_METHOD(ssize_t, read, (int fd, void* buf, size_t count), (override));
  MOCK_METHOD(ssize_t, write, (int fd, const void* buf, size_t count), (override));
  MOCK_METHOD(ssize_t, readv, (int fd, const struct iovec* iov, int iovcnt), (override));
  MOCK_METHOD(ssize_t, writev, (int fd, const struct iovec* iov, int iovcnt), (override));
  MOCK_METHOD(int, socket, (int domain, int type, int protocol), (override));
  MOCK_METHOD(int, bind, (int fd, const struct sockaddr* addr, socklen_t len), (override));
  MOCK_METHOD(ssize_t, sendmsg, (int fd, const struct msghdr* msg, int flags), (override));
  MOCK_METHOD(ssize_t, recvmsg, (int fd, struct msghdr* msg, int flags), (override));
  MOCK_METHOD(int, setsockopt, (int fd, int level, int name, const void* val, socklen_t len),
              (override));
  MOCK_METHOD(int, getsockopt, (int fd, int level, int name, void* val, socklen_t* len),
              (override));
};

}  // namespace tundra
