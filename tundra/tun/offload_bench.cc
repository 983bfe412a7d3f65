// TUN offload micro-benchmarks (issue #14): splitting a TSO/USO super-packet into its segments
// (what a TUN read with IFF_VNET_HDR costs in user space: headers, checksums, copies) and
// planning GRO for a batch of decrypted segments before one TUN write.
//
//   build/tundra/tun/offload_bench --benchmark_repetitions=5
//     --benchmark_report_aggregates_only=true   (one command line)
//
// bytes_per_second counts the payload carried; items_per_second counts segments.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "tundra/tun/gro.h"
#include "tundra/tun/gso_split.h"
#include "tundra/tun/offload_testing.h"

namespace tundra::tun {
namespace {

using testing::BuildPacket;
using testing::KernelHeader;
using testing::PacketSpec;

constexpr uint16_t kSegmentPayload = 1368;  // MSS over a 1420-byte tunnel MTU, IPv4 + timestamps

PacketSpec Spec(bool v6, bool tcp, size_t payload) {
  PacketSpec spec;
  spec.v6 = v6;
  spec.tcp = tcp;
  spec.payload = payload;
  if (tcp) spec.tcp_options.assign(12, 1);  // NOP-sized stand-in for the timestamp option
  return spec;
}

// One super-packet of 47 full segments (64,296 bytes of payload, what fits in 64 KiB) split
// into per-segment buffers, as LinuxTun::Read does.
void BM_GsoSplit(benchmark::State& state) {
  const bool v6 = state.range(0) != 0, tcp = state.range(1) != 0;
  const PacketSpec spec = Spec(v6, tcp, size_t(kSegmentPayload) * 47);
  const std::vector<uint8_t> packet = BuildPacket(spec);
  const VirtioNetHdr hdr = KernelHeader(spec, kSegmentPayload);
  auto probe = ParseGsoSuperPacket(hdr, packet);
  if (!probe) {
    state.SkipWithError("the super-packet does not parse");
    return;
  }
  std::vector<std::vector<uint8_t>> out(probe->segments, std::vector<uint8_t>(2048));
  for (auto _ : state) {
    auto gso = ParseGsoSuperPacket(hdr, packet);
    for (size_t i = 0; i < gso->segments; ++i) {
      benchmark::DoNotOptimize(WriteGsoSegment(*gso, packet, i, out[i].data()));
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(probe->segments));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(spec.payload));
}
BENCHMARK(BM_GsoSplit)->ArgNames({"v6", "tcp"})->Args({0, 1})->Args({1, 1})->Args({0, 0});

// A batch of 47 in-order segments of one flow (as many as fit one 64 KiB super-packet)
// coalesced into one write. Coalesce rewrites the head's headers, so each round first restores
// the headers of all 47 packets from pristine copies (small memcpys, included in the time; the
// payload is never touched).
void BM_GroCoalesce(benchmark::State& state) {
  const bool v6 = state.range(0) != 0, tcp = state.range(1) != 0;
  constexpr size_t kBatch = 47;
  std::vector<std::vector<uint8_t>> pristine, packets;
  for (size_t i = 0; i < kBatch; ++i) {
    PacketSpec spec = Spec(v6, tcp, kSegmentPayload);
    spec.seq = uint32_t(1 + i * kSegmentPayload);
    spec.ip_id = uint16_t(i);
    pristine.push_back(BuildPacket(spec));
  }
  packets = pristine;
  const size_t hdr_len = packets[0].size() - kSegmentPayload;
  std::vector<MutableByteSpan> spans;
  for (auto& p : packets) spans.emplace_back(p.data(), p.size());
  GroTable table;
  table.Coalesce(spans, /*udp=*/true);
  if (table.writes().size() != 1) {
    state.SkipWithError("the batch did not coalesce into one write");
    return;
  }
  for (auto _ : state) {
    for (size_t i = 0; i < kBatch; ++i) std::memcpy(packets[i].data(), pristine[i].data(), hdr_len);
    table.Coalesce(spans, /*udp=*/true);
    benchmark::DoNotOptimize(table.writes().data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(kBatch));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kBatch * kSegmentPayload));
}
BENCHMARK(BM_GroCoalesce)->ArgNames({"v6", "tcp"})->Args({0, 1})->Args({1, 1})->Args({0, 0});

}  // namespace
}  // namespace tundra::tun

BENCHMARK_MAIN();
