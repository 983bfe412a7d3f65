// Key text codecs: base64 (44 characters, as wg prints keys) and hex (64 characters, as the
// UAPI carries them). Decoding is strict: exact length, canonical padding, no whitespace.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "tundra/base/bytes.h"
#include "tundra/base/result.h"

namespace tundra::crypto {

using Key32 = std::array<uint8_t, 32>;

std::string KeyToBase64(std::span<const uint8_t, 32> key);
// Errors say what is wrong without echoing the (possibly secret) text.
Result<Key32> KeyFromBase64(std::string_view text);

std::string KeyToHex(std::span<const uint8_t, 32> key);
Result<Key32> KeyFromHex(std::string_view text);

}  // namespace tundra::crypto
