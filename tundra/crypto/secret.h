// Secret<N>: fixed-size key material, wiped on destruction, compared only in constant time,
// never printed implicitly. Handshake temporaries are Secret locals so every exit path wipes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "tundra/base/bytes.h"

namespace tundra::crypto {

// Constant-time equality of equal-length buffers (CRYPTO_memcmp). Different lengths -> false.
bool ConstantTimeEqual(ByteSpan a, ByteSpan b);
// True when every byte is zero, in constant time.
bool ConstantTimeIsZero(ByteSpan a);

template <size_t N>
class Secret {
 public:
  static constexpr size_t kSize = N;

  Secret() { bytes_.fill(0); }
  explicit Secret(ByteSpan from) {
    bytes_.fill(0);
    if (from.size() == N) std::copy(from.begin(), from.end(), bytes_.begin());
  }
  ~Secret() { SecureZero(bytes_.data(), N); }
  Secret(const Secret& o) : bytes_(o.bytes_) {}
  Secret& operator=(const Secret& o) {
    bytes_ = o.bytes_;
    return *this;
  }

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  static constexpr size_t size() { return N; }
  std::span<uint8_t, N> span() { return std::span<uint8_t, N>(bytes_); }
  std::span<const uint8_t, N> span() const { return std::span<const uint8_t, N>(bytes_); }

  bool Equals(const Secret& o) const { return ConstantTimeEqual(span(), o.span()); }
  bool IsZero() const { return ConstantTimeIsZero(span()); }
  void Wipe() { SecureZero(bytes_.data(), N); }

 private:
  std::array<uint8_t, N> bytes_;
};

inline constexpr size_t kKeySize = 32;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kHashSize = 32;
inline constexpr size_t kMacSize = 16;
inline constexpr size_t kXNonceSize = 24;

// Public values are plain arrays (comparable, printable).
using PublicKey = std::array<uint8_t, kKeySize>;
using PrivateKey = Secret<kKeySize>;
using SymmetricKey = Secret<kKeySize>;

}  // namespace tundra::crypto
