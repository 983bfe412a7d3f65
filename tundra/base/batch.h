// How many packets the data path moves per call: per TUN Read/Write, per recvmmsg/sendmmsg,
// and so per device batch (wireguard-go's conn.IdealBatchSize). Devices report their own
// BatchSize(); this is the default they are created with, and the UDP GSO segment count that
// Linux 6.9+ accepts in one send.
#pragma once

#include <cstddef>

namespace tundra {

inline constexpr size_t kIdealBatchSize = 128;

}  // namespace tundra
