// Allowed-IPs micro-benchmarks (issue #14): longest-prefix lookups in a table of 100k
// prefixes, and building / tearing down a 100k-peer table as `wg setconf` does. Lookups go to
// addresses of random routes in random order, so most nodes are not in cache.
//
//   build/tundra/routing/allowed_ips_bench --benchmark_repetitions=5
//     --benchmark_report_aggregates_only=true   (one command line)
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "tundra/routing/allowed_ips.h"

namespace tundra::routing {
namespace {

constexpr size_t kPrefixes = 100'000;
constexpr size_t kProbes = 1 << 16;

struct Table {
  AllowedIps<uintptr_t> trie;
  std::vector<IpAddress> probes;         // addresses of host routes (one hash probe)
  std::vector<IpAddress> subnet_probes;  // inside the shorter prefixes (a walk of the trie)
};

// 100k peers, one prefix each: /32s (IPv4) or /128s (IPv6), and every 16th a /16-/24 (IPv4) or
// /112-/120 (IPv6), so that the trie has subnets as a real one does.
Table& Get(bool v6) {
  static Table tables[2];
  Table& t = tables[v6];
  if (!t.probes.empty()) return t;
  std::mt19937_64 rng(v6 ? 6 : 4);
  std::vector<IpAddress> hosts, subnets;
  for (size_t i = 0; i < kPrefixes; ++i) {
    uint8_t bytes[16];
    for (auto& b : bytes) b = uint8_t(rng());
    const IpAddress a = v6 ? IpAddress::V6(bytes) : IpAddress::V4(bytes);
    const unsigned max = v6 ? 128 : 32;
    const unsigned bits = i % 16 == 0 ? max - 8 - unsigned(rng() % 8) : max;
    t.trie.Insert(IpPrefix(a, bits), uintptr_t(i + 1));
    (bits == max ? hosts : subnets).push_back(a);
  }
  for (size_t i = 0; i < kProbes; ++i) {
    t.probes.push_back(hosts[rng() % hosts.size()]);
    // The last byte is host bits of every shorter prefix (at most /24, /120): a random one.
    IpAddress a = subnets[rng() % subnets.size()];
    uint8_t bytes[16];
    std::memcpy(bytes, a.data(), v6 ? 16 : 4);
    bytes[(v6 ? 16 : 4) - 1] = uint8_t(rng());
    t.subnet_probes.push_back(v6 ? IpAddress::V6(bytes) : IpAddress::V4(bytes));
  }
  return t;
}

void BM_Lookup100k(benchmark::State& state) {
  Table& t = Get(state.range(0) == 6);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.trie.Lookup(t.probes[i++ & (kProbes - 1)]));
  }
  state.SetLabel(state.range(0) == 6 ? "IPv6" : "IPv4");
}
BENCHMARK(BM_Lookup100k)->Arg(4)->Arg(6);

void BM_LookupSubnet100k(benchmark::State& state) {
  Table& t = Get(state.range(0) == 6);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.trie.Lookup(t.subnet_probes[i++ & (kProbes - 1)]));
  }
  state.SetLabel(state.range(0) == 6 ? "IPv6" : "IPv4");
}
BENCHMARK(BM_LookupSubnet100k)->Arg(4)->Arg(6);

// Inserting 100k one-prefix peers and removing them peer by peer (replace_peers).
void BM_Build100kThenRemoveByPeer(benchmark::State& state) {
  std::vector<IpPrefix> prefixes;
  std::mt19937_64 rng(1);
  for (size_t i = 0; i < kPrefixes; ++i) {
    uint8_t bytes[16];
    for (auto& b : bytes) b = uint8_t(rng());
    prefixes.emplace_back(IpAddress::V6(bytes), 128);
  }
  for (auto _ : state) {
    AllowedIps<uintptr_t> trie;
    for (size_t i = 0; i < kPrefixes; ++i) trie.Insert(prefixes[i], uintptr_t(i + 1));
    for (size_t i = 0; i < kPrefixes; ++i) trie.RemoveByPeer(uintptr_t(i + 1));
    benchmark::DoNotOptimize(trie.size());
  }
  state.SetItemsProcessed(int64_t(state.iterations() * kPrefixes));
}
BENCHMARK(BM_Build100kThenRemoveByPeer)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tundra::routing

BENCHMARK_MAIN();
