#include "tundra/device/shaping.h"

#include <fmt/core.h>

#include <charconv>

namespace tundra::device {
namespace {

bool ParseBounded(std::string_view text, uint32_t max, uint32_t& out) {
  if (text.empty()) return false;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 10);
  if (ec != std::errc() || p != text.data() + text.size() || v > max) return false;
  out = uint32_t(v);
  return true;
}

}  // namespace

bool ParseSpeed(std::string_view text, Speed& out) {
  const size_t colon = text.find(':');
  Speed s;
  if (colon == std::string_view::npos) {
    if (!ParseBounded(text, kMaxSpeedKbit, s.in_kbit)) return false;
    s.out_kbit = s.in_kbit;
  } else if (!ParseBounded(text.substr(0, colon), kMaxSpeedKbit, s.in_kbit) ||
             !ParseBounded(text.substr(colon + 1), kMaxSpeedKbit, s.out_kbit)) {
    return false;
  }
  out = s;
  return true;
}

std::string SpeedText(const Speed& speed) {
  return fmt::format("{}:{}", speed.in_kbit, speed.out_kbit);
}

bool ParseBurst(std::string_view text, uint32_t& out) {
  return ParseBounded(text, kMaxBurstBytes, out);
}

}  // namespace tundra::device
