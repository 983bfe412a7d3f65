// X25519 (RFC 7748) over OpenSSL 3.
#pragma once

#include "tundra/crypto/secret.h"

namespace tundra::crypto {

// Clamps a private key as RFC 7748 / WireGuard require (bits 0-2 cleared, 255 cleared, 254 set).
void ClampPrivateKey(PrivateKey& key);
// A fresh random, clamped private key.
PrivateKey GeneratePrivateKey();
// The public key of `priv` (X25519(priv, 9)).
PublicKey PublicFromPrivate(const PrivateKey& priv);
// shared = X25519(priv, pub). Returns false (and zeroes `shared`) when the result is all zero
// (a low-order public key) or the computation fails: the caller must abort the handshake.
[[nodiscard]] bool X25519(const PrivateKey& priv, const PublicKey& pub, SymmetricKey& shared);

}  // namespace tundra::crypto
