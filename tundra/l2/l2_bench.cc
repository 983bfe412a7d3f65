// Micro-benchmark (not a test): the per-frame costs of TAP mode's core. `make microbench`.
#include <benchmark/benchmark.h>

#include <vector>

#include "tundra/l2/switch.h"

namespace tundra::l2 {
namespace {

const TimePoint kNow = TimePoint(std::chrono::seconds(1000));

MacAddress Mac(uint64_t i) { return MacAddress::FromU64(0x020000000000 | i); }

// A table holding `n` learned MACs; lookups of known addresses in a cycle.
void BM_Lookup(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  MacTable t(MacTableOptions{n, kDefaultMacExpiry, 1});
  for (size_t i = 0; i < n; ++i) (void)t.Learn(Mac(i), Port::Peer(i % 8), kNow, true);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.Lookup(Mac(i), kNow));
    if (++i == n) i = 0;
  }
}
BENCHMARK(BM_Lookup)->Arg(1024)->Arg(8192)->Arg(65536);
BENCHMARK(BM_Lookup)->Arg(8192)->Threads(2);

// The steady state of learning: a known source on the same port (a read only).
void BM_LearnKnown(benchmark::State& state) {
  MacTable t(MacTableOptions{8192, kDefaultMacExpiry, 1});
  for (size_t i = 0; i < 8192; ++i) (void)t.Learn(Mac(i), Port::Peer(1), kNow, true);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.Learn(Mac(i), Port::Peer(1), kNow));
    i = (i + 1) & 8191;
  }
}
BENCHMARK(BM_LearnKnown);

// A MAC flood: every frame a new source, the table full (evict + insert).
void BM_LearnNewEvicting(benchmark::State& state) {
  MacTable t(MacTableOptions{8192, kDefaultMacExpiry, 1});
  uint64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(t.Learn(Mac(i++), Port::Peer(1), kNow, true));
}
BENCHMARK(BM_LearnNewEvicting);

// One whole decision for a known unicast frame from the TAP (parse, learn, lookup).
void BM_DecideKnownUnicast(benchmark::State& state) {
  Switch sw(SwitchOptions{});
  (void)sw.table().Learn(Mac(1), Port::Tap(), kNow, true);
  (void)sw.table().Learn(Mac(2), Port::Peer(7), kNow, true);
  std::vector<uint8_t> frame(1400, 0);
  Mac(2).ToBytes(frame.data());
  Mac(1).ToBytes(frame.data() + 6);
  frame[12] = 0x08;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sw.Decide(frame, Ingress::Tap(), nullptr, kNow));
  }
}
BENCHMARK(BM_DecideKnownUnicast);

}  // namespace
}  // namespace tundra::l2

BENCHMARK_MAIN();
