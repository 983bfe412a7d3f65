#include "tundra/crypto/random.h"

#include <sys/random.h>

#include <cerrno>

#include "tundra/base/check.h"

namespace tundra::crypto {

void RandomBytes(MutableByteSpan out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      TUNDRA_CHECK(errno == EINTR);
      continue;
    }
    done += static_cast<size_t>(n);
  }
}

uint32_t RandomU32() {
  uint8_t b[4];
  RandomBytes(b);
  return LoadLe32(b);
}

uint32_t RandomBelow(uint32_t bound) {
  TUNDRA_CHECK(bound > 0);
  // Rejection sampling: no modulo bias.
  const uint32_t limit = UINT32_MAX - (UINT32_MAX % bound);
  for (;;) {
    uint32_t v = RandomU32();
    if (v < limit) return v % bound;
  }
}

}  // namespace tundra::crypto
