#include "tundra/base/unique_fd.h"

#include <unistd.h>

namespace tundra {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) {
    if (kernel_ != nullptr) {
      kernel_->close(fd_);
    } else {
      ::close(fd_);
    }
  }
  fd_ = fd;
}

}  // namespace tundra
