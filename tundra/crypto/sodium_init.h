// libsodium's one-time initialisation, shared by the crypto files that call it (internal).
#pragma once

namespace tundra::crypto {

// sodium_init() once; aborts if libsodium cannot start (no usable randomness).
void EnsureSodium();

}  // namespace tundra::crypto
