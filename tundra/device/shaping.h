// Per-peer shaping settings (`Speed = IN:OUT`, `Burst =` in a config file; tundra_speed= and
// tundra_burst= over the UAPI; docs/shaping.md): the rate in kbit/s of the inner packets each
// way ("in" from the peer, "out" to it; 0 = unlimited) and the token bucket's size in bytes
// (0 = DefaultBurstBytes of the rate, base/token_bucket.h). Text forms, one place for both
// parsers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tundra::device {

struct Speed {
  uint32_t in_kbit = 0;
  uint32_t out_kbit = 0;
  bool operator==(const Speed&) const = default;
};

struct Shaping {
  Speed speed;
  uint32_t burst = 0;
  bool operator==(const Shaping&) const = default;
};

inline constexpr uint32_t kMaxSpeedKbit = 100'000'000;  // 100 Gbit/s
inline constexpr uint32_t kMaxBurstBytes = 1u << 30;

// "IN:OUT" or "BOTH", decimal kbit/s each at most kMaxSpeedKbit (0 = unlimited). False on
// anything else.
bool ParseSpeed(std::string_view text, Speed& out);
// "IN:OUT", as ParseSpeed reads it.
std::string SpeedText(const Speed& speed);
// Decimal bytes, at most kMaxBurstBytes (0 = the default).
bool ParseBurst(std::string_view text, uint32_t& out);

}  // namespace tundra::device
