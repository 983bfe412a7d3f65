// TAI64N timestamps for handshake initiations (whitepaper §5.4.2; wireguard-go tai64n/).
//
//   12 bytes = big-endian (2^62 + 10 + unix seconds) || big-endian nanoseconds,
// with the nanoseconds rounded down to a multiple of 2^24 (~16.8 ms), as the kernel and
// wireguard-go do, so the timestamp does not leak fine-grained clock information. The
// responder accepts an initiation only if its timestamp is strictly newer than the last one.
#pragma once

#include <array>
#include <cstdint>

#include "tundra/base/clock.h"

namespace tundra::proto {

using Tai64n = std::array<uint8_t, 12>;

Tai64n Tai64nNow(WallTime now);
// True when `a` is strictly later than `b`.
bool Tai64nIsNewer(const Tai64n& a, const Tai64n& b);

}  // namespace tundra::proto
