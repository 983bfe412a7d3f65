// Keyed hash for hash tables whose keys an attacker chooses (rate-limiter sources): SipHash-2-4
// through libsodium's crypto_shorthash, as the kernel keys its ratelimiter with siphash.
#pragma once

#include <cstdint>

#include "tundra/base/bytes.h"
#include "tundra/crypto/secret.h"

namespace tundra::crypto {

inline constexpr size_t kShortHashKeySize = 16;
using ShortHashKey = Secret<kShortHashKeySize>;

// A fresh random key (one per table).
ShortHashKey RandomShortHashKey();
// SipHash-2-4 of `in` under `key`, the 8 output bytes read as a little-endian integer.
uint64_t ShortHash(const ShortHashKey& key, ByteSpan in);

}  // namespace tundra::crypto
