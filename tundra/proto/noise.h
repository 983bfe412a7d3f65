// The Noise symmetric state (Noise spec §5.2) as WireGuard uses it: chaining key `ck`, handshake
// hash `h`, and the current cipher key `k` with nonce `n`. handshake.cc composes the IKpsk2
// tokens from these steps; the generic form (any prologue, any payload) is what lets the
// Cacophony vector test the core directly.
//
// Not thread-safe. All key material lives in Secret<> and is wiped on destruction.
#pragma once

#include "tundra/base/bytes.h"
#include "tundra/crypto/blake2s.h"
#include "tundra/crypto/secret.h"

namespace tundra::proto::internal {

class SymmetricState {
 public:
  // h = HASH(name) (the name is longer than 32 bytes), ck = h, then MixHash(prologue).
  void Initialize(ByteSpan protocol_name, ByteSpan prologue);
  // Sets ck/h directly (WireGuard precomputes them once).
  void Set(const crypto::Secret<32>& ck, const crypto::Hash32& h);

  void MixHash(ByteSpan data);
  // ck, k = KDF2(ck, ikm); n = 0.
  void MixKey(ByteSpan ikm);
  // ck, tmp_h, k = KDF3(ck, ikm); MixHash(tmp_h); n = 0.
  void MixKeyAndHash(ByteSpan ikm);
  // out = AEAD(k, n++, plain, h); MixHash(out). out.size() == plain.size() + 16.
  void EncryptAndHash(ByteSpan plain, MutableByteSpan out);
  // Inverse; false on a bad tag (state is then unusable: discard it).
  [[nodiscard]] bool DecryptAndHash(ByteSpan sealed, MutableByteSpan out);
  // (k1, k2) = KDF2(ck, empty).
  void Split(crypto::SymmetricKey& first, crypto::SymmetricKey& second) const;

  const crypto::Secret<32>& chaining_key() const { return ck_; }
  const crypto::Hash32& hash() const { return h_; }

 private:
  crypto::Secret<32> ck_;
  crypto::Hash32 h_{};
  crypto::SymmetricKey k_;
  uint64_t n_ = 0;
};

}  // namespace tundra::proto::internal
