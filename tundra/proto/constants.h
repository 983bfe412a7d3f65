// Every protocol limit in one place (kernel messages.h `enum limits`; wireguard-go constants.go).
// Durations are std::chrono types. Where the kernel and wireguard-go differ, tundra follows
// wireguard-go (the peer it interoperates with) and says so.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tundra::proto {

// Sessions.
inline constexpr uint64_t kRekeyAfterMessages = uint64_t{1} << 60;
// wireguard-go: 2^64 - 2^13 - 1 (the kernel uses 2^64 - 8130; both keep the counter clear of
// the replay window's wrap-around).
inline constexpr uint64_t kRejectAfterMessages = ~uint64_t{0} - (uint64_t{1} << 13);
inline constexpr std::chrono::seconds kRekeyAfterTime{120};
inline constexpr std::chrono::seconds kRejectAfterTime{180};
inline constexpr std::chrono::seconds kRekeyAttemptTime{90};
inline constexpr std::chrono::seconds kRekeyTimeout{5};
inline constexpr std::chrono::milliseconds kRekeyTimeoutJitterMax{334};
inline constexpr std::chrono::seconds kKeepaliveTimeout{10};
// Retransmissions happen while the retry count is <= this: 19 retries, 20 initiations in all.
inline constexpr uint32_t kMaxTimerHandshakes = kRekeyAttemptTime / kRekeyTimeout;
inline constexpr std::chrono::seconds kZeroKeyMaterialAfter = kRejectAfterTime * 3;

// Handshakes.
inline constexpr int kInitiationsPerSecond = 50;
inline constexpr std::chrono::milliseconds kHandshakeInitiationRate{1000 / kInitiationsPerSecond};
inline constexpr std::chrono::seconds kCookieSecretMaxAge{120};
inline constexpr std::chrono::seconds kCookieSecretLatency{5};
inline constexpr std::chrono::seconds kUnderLoadAfterTime{1};

// Queues.
inline constexpr size_t kMaxStagedPackets = 128;
inline constexpr size_t kMaxQueuedHandshakes = 1024;  // wireguard-go QueueHandshakeSize
inline constexpr size_t kMaxPeers = size_t{1} << 20;  // kernel MAX_PEERS_PER_DEVICE

// Per-source handshake rate limiter (kernel ratelimiter.c; only consulted under load).
inline constexpr int kRateLimitPacketsPerSecond = 20;
inline constexpr int kRateLimitBurst = 5;
inline constexpr std::chrono::seconds kRateLimitGcAfter{1};

// Packets.
inline constexpr size_t kPaddingMultiple = 16;
inline constexpr size_t kDefaultMtu = 1420;  // wireguard-go DefaultMTU; wg-quick: route MTU - 80
// The MTUs a tundra interface accepts (--mtu, a config file's MTU): IPv4's minimum reassembly
// size up to the largest IP packet.
inline constexpr int kMinMtu = 576;
inline constexpr int kMaxMtu = 65535;

// Replay window: 128 blocks of 64 bits, one block kept as slack (RFC 6479).
inline constexpr size_t kReplayBlocks = 128;
inline constexpr size_t kReplayWindow = (kReplayBlocks - 1) * 64;  // 8128

}  // namespace tundra::proto
