#include "tundra/crypto/secret.h"

#include <openssl/crypto.h>

namespace tundra::crypto {

bool ConstantTimeEqual(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool ConstantTimeIsZero(ByteSpan a) {
  uint8_t acc = 0;
  for (uint8_t b : a) acc |= b;
  return acc == 0;
}

}  // namespace tundra::crypto
