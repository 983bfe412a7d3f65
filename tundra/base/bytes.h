// Byte-buffer vocabulary. tundra uses uint8_t spans (not std::byte) because packet code does
// arithmetic on bytes constantly; the types are the only convention that matters:
//   ByteSpan (read-only input), MutableByteSpan (caller-provided output).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace tundra {

using ByteSpan = std::span<const uint8_t>;
using MutableByteSpan = std::span<uint8_t>;

inline uint16_t LoadLe16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t LoadLe32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // little-endian hosts only (static_assert in bytes.cc)
}
inline uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // x86-64/arm64 little-endian; static_assert below guards the assumption.
}
inline void StoreLe32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void StoreLe64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint16_t LoadBe16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline void StoreBe64(uint8_t* p, uint64_t v) {
  StoreBe32(p, uint32_t(v >> 32));
  StoreBe32(p + 4, uint32_t(v));
}
inline uint64_t LoadBe64(const uint8_t* p) {
  return (uint64_t(LoadBe32(p)) << 32) | LoadBe32(p + 4);
}

// Zeroes memory in a way the compiler may not elide (explicit_bzero).
void SecureZero(void* p, size_t n);

// Lowercase hex of `data`; ParseHex returns false on odd length or a non-hex digit.
std::string ToHex(ByteSpan data);
bool ParseHex(std::string_view hex, MutableByteSpan out);

}  // namespace tundra
