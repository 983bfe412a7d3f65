// AEADs: ChaCha20-Poly1305 (RFC 8439, OpenSSL 3) and XChaCha20-Poly1305 (libsodium).
//
// Output buffers are the caller's: Seal writes plain.size() + 16 bytes; Open writes
// sealed.size() - 16 bytes and returns false on a bad tag (output then unspecified) or short
// input. In-place operation (out.data() == plain.data()) is allowed.
#pragma once

#include <cstdint>

#include "tundra/crypto/secret.h"

namespace tundra::crypto {

inline constexpr size_t kNonceSize = 12;

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
