// UniqueFd: move-only owner of one file descriptor (quiche OwnedSocketFd).
//
// Every fd-creating call in tundra returns Result<UniqueFd>; a raw `int` parameter always means
// *borrowed*. The destructor closes once and never retries (close() must not be retried on
// EINTR on Linux). An fd opened through a KernelInterface is closed through it, so a mock
// kernel can assert the close.
#pragma once

#include <utility>

#include "tundra/base/kernel.h"

namespace tundra {

class UniqueFd {
 public:
  UniqueFd() = default;
  // `kernel` (optional) must outlive this object; nullptr closes with ::close.
  explicit UniqueFd(int fd, KernelInterface* kernel = nullptr) : fd_(fd), kernel_(kernel) {}
  ~UniqueFd() { reset(); }

  UniqueFd(UniqueFd&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), kernel_(std::exchange(other.kernel_, nullptr)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
      kernel_ = std::exchange(other.kernel_, nullptr);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing.
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }
  // Closes the current fd (if any) and takes `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
  KernelInterface* kernel_ = nullptr;
};

}  // namespace tundra
