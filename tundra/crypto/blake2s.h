// BLAKE2s (RFC 7693) and the constructions WireGuard builds on it, over OpenSSL 3:
//   Hash:  BLAKE2s-256 of the concatenation of `parts`             (HASH in the whitepaper)
//   Mac:   keyed BLAKE2s with a 16-byte output (BLAKE2SMAC)        (MAC)
//   Hmac:  HMAC over BLAKE2s-256                                   (HMAC)
//   Kdf1/2/3: HKDF-style expansion with HMAC-BLAKE2s               (KDF_n)
// `parts` lets callers hash a concatenation without copying it first.
#pragma once

#include <initializer_list>

#include "tundra/crypto/secret.h"

namespace tundra::crypto {

using Hash32 = std::array<uint8_t, kHashSize>;
using Mac16 = std::array<uint8_t, kMacSize>;

void Blake2sHash(std::initializer_list<ByteSpan> parts, std::span<uint8_t, kHashSize> out);
// Keyed BLAKE2s; `out.size()` selects the digest length (1..32); key 1..32 bytes (0 = unkeyed).
void Blake2sKeyed(ByteSpan key, std::initializer_list<ByteSpan> parts, MutableByteSpan out);
// MAC(key, input) with a 16-byte output.
void Blake2sMac(ByteSpan key, std::initializer_list<ByteSpan> parts,
                std::span<uint8_t, kMacSize> out);
void HmacBlake2s(ByteSpan key, std::initializer_list<ByteSpan> parts,
                 std::span<uint8_t, kHashSize> out);

// KDF_n(key, input): tau0 = HMAC(key, input); tau1 = HMAC(tau0, 0x1); tau_i = HMAC(tau0, tau_{i-1}
// || i). Outputs may be null to skip them (Kdf1 = first only).
void Kdf(ByteSpan chaining_key, ByteSpan input, SymmetricKey* out1, SymmetricKey* out2,
         SymmetricKey* out3);

}  // namespace tundra::crypto
