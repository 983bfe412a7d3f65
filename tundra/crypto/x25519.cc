#include "tundra/crypto/x25519.h"

#include <openssl/evp.h>

#include <memory>

#include "tundra/base/check.h"
#include "tundra/crypto/random.h"

namespace tundra::crypto {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

}  // namespace

void ClampPrivateKey(PrivateKey& key) {
  key.data()[0] &= 248;
  key.data()[31] = static_cast<uint8_t>((key.data()[31] & 127) | 64);
}

PrivateKey GeneratePrivateKey() {
  PrivateKey key;
  RandomBytes(key.span());
  ClampPrivateKey(key);
  return key;
}

PublicKey PublicFromPrivate(const PrivateKey& priv) {
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv.data(), priv.size()));
  TUNDRA_CHECK(pkey != nullptr);
  PublicKey pub{};
  size_t len = pub.size();
  TUNDRA_CHECK(EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) == 1 && len == pub.size());
  return pub;
}

bool X25519(const PrivateKey& priv, const PublicKey& pub, SymmetricKey& shared) {
  shared.Wipe();
  PkeyPtr mine(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv.data(), priv.size()));
  PkeyPtr theirs(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, pub.data(), pub.size()));
  if (!mine || !theirs) return false;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(mine.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) != 1) {
    return false;
  }
  size_t len = shared.size();
  // OpenSSL itself fails the derivation when the result is all zero; check again regardless.
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != shared.size() ||
      shared.IsZero()) {
    shared.Wipe();
    return false;
  }
  return true;
}

}  // namespace tundra::crypto
