// A token bucket for shaping a stream of packets (per-peer `Speed`/`Burst`, docs/shaping.md),
// lock-free in its GCRA form: instead of a token count it keeps the instant at which the bucket
// would be full again (`tat`, the theoretical arrival time), so a packet is one CAS. At a
// sustained offered load above the rate, what passes is `rate` bytes per second with at most
// `burst` bytes back to back; a packet larger than the burst passes only when the bucket is
// full (a small Burst never black-holes large packets).
//
// Thread-safety: Take() may run on any number of threads at once; Configure() may race with
// them (a packet in flight may be judged by the old or the new setting).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace tundra {

// The burst when none is configured: 200 ms at the rate, at least 64 KiB (one TSO/GSO burst).
// TCP through a policer needs room for its bursts: measured at 10 Mbit/s (docs/shaping.md),
// 50 ms of burst gave TCP a quarter of the rate, 200 ms 96-98 %.
inline constexpr uint64_t kDefaultBurstMinBytes = 64 * 1024;
inline constexpr uint64_t kDefaultBurstDivisor = 5;  // rate / 5 = 200 ms of traffic
inline uint64_t DefaultBurstBytes(uint64_t rate_bytes_per_sec) {
  return std::max(kDefaultBurstMinBytes, rate_bytes_per_sec / kDefaultBurstDivisor);
}

class TokenBucket {
 public:
  // rate 0 = unlimited (Take always passes). burst 0 = DefaultBurstBytes(rate). The bucket
  // starts full.
  void Configure(uint64_t rate_bytes_per_sec, uint64_t burst_bytes) {
    if (burst_bytes == 0) burst_bytes = DefaultBurstBytes(rate_bytes_per_sec);
    const int64_t tolerance =
        rate_bytes_per_sec == 0 ? 0 : int64_t(burst_bytes * kNsPerSec / rate_bytes_per_sec);
    tolerance_ns_.store(tolerance, std::memory_order_relaxed);
    rate_.store(rate_bytes_per_sec, std::memory_order_relaxed);
    tat_ns_.store(INT64_MIN / 2, std::memory_order_relaxed);
  }

  uint64_t rate() const { return rate_.load(std::memory_order_relaxed); }

  // True when `bytes` may pass at `now_ns` (a monotonic clock); they are then charged.
  bool Take(uint64_t bytes, int64_t now_ns) {
    const uint64_t rate = rate_.load(std::memory_order_relaxed);
    if (rate == 0) return true;
    const int64_t cost = int64_t(bytes * kNsPerSec / rate);
    const int64_t tolerance = std::max(tolerance_ns_.load(std::memory_order_relaxed), cost);
    int64_t tat = tat_ns_.load(std::memory_order_relaxed);
    for (;;) {
      const int64_t next = std::max(tat, now_ns) + cost;
      if (next - now_ns > tolerance) return false;
      if (tat_ns_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return true;
    }
  }

 private:
  static constexpr uint64_t kNsPerSec = 1'000'000'000;
  std::atomic<uint64_t> rate_{0};         // bytes per second; 0 = unlimited
  std::atomic<int64_t> tolerance_ns_{0};  // the burst, as time at the rate
  std::atomic<int64_t> tat_ns_{INT64_MIN / 2};
};

}  // namespace tundra
