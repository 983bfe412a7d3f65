// AEADs: ChaCha20-Poly1305 (RFC 8439, OpenSSL 3) and XChaCha20-Poly1305 (libsodium).
//
// Output buffers are the caller's: Seal writes plain.size() + 16 bytes; Open writes
// sealed.size() - 16 bytes and returns false on a bad tag (output then unspecified) or short
// input. In-place operation (out.data() == plain.data()) is allowed.
//
// No library context outlives the key it was given: the one-shot functions use a context for
// one call and free it; ChaChaPolyKey frees its contexts when it dies. OpenSSL wipes a
// ChaCha20-Poly1305 context when it is freed (the provider frees it with OPENSSL_clear_free).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "tundra/crypto/secret.h"

struct evp_cipher_ctx_st;

namespace tundra::crypto {

inline constexpr size_t kNonceSize = 12;

// A ChaCha20-Poly1305 key for many messages (a session's send or receive key, kernel
// noise_keypair): the key goes into OpenSSL's contexts once, here; each message only sets its
// nonce, which halves the per-packet overhead of setting key and nonce every time. The object
// keeps no other copy of the key; destroying it frees (and so wipes) every context.
//
// Thread-safe: kSlots contexts, each behind its own mutex. A thread tries the slot it was
// assigned first, then the others, and waits only when all are busy, so the data threads that
// share a keypair (tun and control threads sealing, udp thread opening) rarely contend.
class ChaChaPolyKey {
 public:
  static constexpr size_t kSlots = 2;

  explicit ChaChaPolyKey(const SymmetricKey& key);
  ~ChaChaPolyKey();
  ChaChaPolyKey(const ChaChaPolyKey&) = delete;
  ChaChaPolyKey& operator=(const ChaChaPolyKey&) = delete;

  // WireGuard's nonce form (see ChaChaPolySeal).
  void Seal(uint64_t counter, ByteSpan plain, ByteSpan aad, MutableByteSpan out) const;
  [[nodiscard]] bool Open(uint64_t counter, ByteSpan sealed, ByteSpan aad,
                          MutableByteSpan out) const;

 private:
  struct alignas(64) Slot {
    std::mutex mu;
    evp_cipher_ctx_st* ctx = nullptr;  // guarded by mu
  };
  // Runs use(ctx, nonce) on a free slot's context, the slot locked.
  template <typename F>
  auto WithContext(uint64_t counter, F use) const;

  mutable std::array<Slot, kSlots> slots_;
};

// WireGuard's nonce form: 4 zero bytes || little-endian 64-bit counter.
void ChaChaPolySeal(const SymmetricKey& key, uint64_t counter, ByteSpan plain, ByteSpan aad,
                    MutableByteSpan out);
[[nodiscard]] bool ChaChaPolyOpen(const SymmetricKey& key, uint64_t counter, ByteSpan sealed,
                                  ByteSpan aad, MutableByteSpan out);

// Any 96-bit nonce (for the RFC vectors).
void ChaChaPolySealNonce(const SymmetricKey& key, std::span<const uint8_t, kNonceSize> nonce,
                         ByteSpan plain, ByteSpan aad, MutableByteSpan out);
[[nodiscard]] bool ChaChaPolyOpenNonce(const SymmetricKey& key,
                                       std::span<const uint8_t, kNonceSize> nonce, ByteSpan sealed,
                                       ByteSpan aad, MutableByteSpan out);

// XChaCha20-Poly1305 with a 24-byte nonce (cookie replies).
void XChaChaPolySeal(const SymmetricKey& key, std::span<const uint8_t, kXNonceSize> nonce,
                     ByteSpan plain, ByteSpan aad, MutableByteSpan out);
[[nodiscard]] bool XChaChaPolyOpen(const SymmetricKey& key,
                                   std::span<const uint8_t, kXNonceSize> nonce, ByteSpan sealed,
                                   ByteSpan aad, MutableByteSpan out);

// HChaCha20 (libsodium crypto_core_hchacha20), exposed for its test vector.
void HChaCha20(const SymmetricKey& key, std::span<const uint8_t, 16> nonce, SymmetricKey& out);

}  // namespace tundra::crypto
