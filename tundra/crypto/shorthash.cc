#include "tundra/crypto/shorthash.h"

#include <sodium.h>

#include "tundra/base/check.h"
#include "tundra/crypto/random.h"
#include "tundra/crypto/sodium_init.h"

namespace tundra::crypto {

static_assert(kShortHashKeySize == crypto_shorthash_KEYBYTES);
static_assert(crypto_shorthash_BYTES == 8);

ShortHashKey RandomShortHashKey() {
  ShortHashKey key;
  RandomBytes(MutableByteSpan(key.data(), key.size()));
  return key;
}

uint64_t ShortHash(const ShortHashKey& key, ByteSpan in) {
  uint8_t out[crypto_shorthash_BYTES];
  EnsureSodium();
  TUNDRA_CHECK(crypto_shorthash(out, in.data(), in.size(), key.data()) == 0);
  return LoadLe64(out);
}

}  // namespace tundra::crypto
