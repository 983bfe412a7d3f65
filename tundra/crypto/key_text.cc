#include "tundra/crypto/key_text.h"

#include <fmt/core.h>

namespace tundra::crypto {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Decode6(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string KeyToBase64(std::span<const uint8_t, 32> key) {
  std::string out;
  out.reserve(44);
  for (size_t i = 0; i < 30; i += 3) {
    const uint32_t v = (uint32_t(key[i]) << 16) | (uint32_t(key[i + 1]) << 8) | key[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const uint32_t v = (uint32_t(key[30]) << 16) | (uint32_t(key[31]) << 8);
  out += kAlphabet[(v >> 18) & 63];
  out += kAlphabet[(v >> 12) & 63];
  out += kAlphabet[(v >> 6) & 63];
  out += '=';
  return out;
}

Result<Key32> KeyFromBase64(std::string_view text) {
  if (text.size() != 44 || text[43] != '=') {
    return InvalidArgument(fmt::format(
        "a key must be 44 base64 characters ending in '=' (got {} characters)", text.size()));
  }
  Key32 key{};
  uint32_t acc = 0;
  int bits = 0;
  size_t out = 0;
  for (size_t i = 0; i < 43; ++i) {
    const int d = Decode6(text[i]);
    if (d < 0)
      return InvalidArgument(
          fmt::format("a key has an invalid base64 character at position {}", i + 1));
    acc = (acc << 6) | uint32_t(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out < key.size()) key[out++] = uint8_t(acc >> bits);
    }
  }
  // 43 characters carry 258 bits: the last two must be zero in a canonical encoding.
  if ((acc & ((1u << bits) - 1)) != 0) {
    return InvalidArgument("a key is not canonically base64-encoded (non-zero trailing bits)");
  }
  return key;
}

std::string KeyToHex(std::span<const uint8_t, 32> key) { return ToHex(key); }

Result<Key32> KeyFromHex(std::string_view text) {
  Key32 key{};
  if (!ParseHex(text, key)) return InvalidArgument("a key must be 64 hexadecimal characters");
  return key;
}

}  // namespace tundra::crypto
