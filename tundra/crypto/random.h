// Cryptographically secure random bytes (getrandom(2)). Aborts if the kernel cannot supply them:
// continuing without randomness would be a security bug, not an error to handle.
#pragma once

#include <cstdint>

#include "tundra/base/bytes.h"

namespace tundra::crypto {

void RandomBytes(MutableByteSpan out);
uint32_t RandomU32();
// Uniform in [0, bound).
uint32_t RandomBelow(uint32_t bound);

}  // namespace tundra::crypto
