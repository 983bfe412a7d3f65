// Protocol-core micro-benchmarks (issue #14): handshake creation and consumption (the control
// thread's per-message cost, whose target is >= 20k consumed initiations per second per core)
// and the replay window (the receive path's per-packet check).
//
//   build/tundra/proto/proto_bench --benchmark_repetitions=5
//     --benchmark_report_aggregates_only=true   (one command line)
#include <benchmark/benchmark.h>

#include <vector>

#include "tundra/base/check.h"
#include "tundra/crypto/x25519.h"
#include "tundra/proto/handshake.h"
#include "tundra/proto/replay.h"

namespace tundra::proto {
namespace {

struct Pair {
  StaticIdentity a = StaticIdentity::FromPrivateKey(crypto::GeneratePrivateKey());
  StaticIdentity b = StaticIdentity::FromPrivateKey(crypto::GeneratePrivateKey());
  Handshake ha, hb;  // a initiates, b responds
  Pair() {
    TUNDRA_CHECK(ha.Configure(a, b.public_key));
    TUNDRA_CHECK(hb.Configure(b, a.public_key));
  }
};

Timestamp Ts(uint32_t n) {
  Timestamp t{};
  t[0] = 0x40;
  StoreBe32(t.data() + 4, n);
  return t;
}

// Initiations with increasing timestamps, made ahead (a responder takes each once).
std::vector<MessageInitiation> Initiations(Pair& p, size_t n) {
  std::vector<MessageInitiation> out(n);
  for (size_t i = 0; i < n; ++i) {
    TUNDRA_CHECK(p.ha.CreateInitiation(p.a, uint32_t(i + 1), Ts(uint32_t(i + 1)), out[i]) ==
                 DropReason::kNone);
  }
  return out;
}

void BM_CreateInitiation(benchmark::State& state) {
  Pair p;
  MessageInitiation m;
  uint32_t n = 0;
  for (auto _ : state) {
    ++n;
    benchmark::DoNotOptimize(p.ha.CreateInitiation(p.a, n, Ts(n), m));
  }
}
BENCHMARK(BM_CreateInitiation);

// DecryptInitiation + ConsumeInitiation: what a responder spends on one initiation before it
// answers (two X25519: es, and the static key's decryption; ss is precomputed).
void BM_ConsumeInitiation(benchmark::State& state) {
  Pair p;
  const std::vector<MessageInitiation> msgs = Initiations(p, 512);
  size_t i = 0;
  TimePoint now{};
  for (auto _ : state) {
    if (i == msgs.size()) {
      p.hb.ClearAll();  // forgets the timestamp: the same initiations are new again
      i = 0;
    }
    DecryptedInitiation d;
    TUNDRA_CHECK(DecryptInitiation(p.b, msgs[i], d) == DropReason::kNone);
    now += std::chrono::seconds(1);  // past the flood limit
    TUNDRA_CHECK(p.hb.ConsumeInitiation(d, msgs[i], now) == DropReason::kNone);
    ++i;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_ConsumeInitiation);

// The whole responder side: consume, answer and derive the session.
void BM_ConsumeInitiationAndRespond(benchmark::State& state) {
  Pair p;
  const std::vector<MessageInitiation> msgs = Initiations(p, 512);
  size_t i = 0;
  TimePoint now{};
  for (auto _ : state) {
    if (i == msgs.size()) {
      p.hb.ClearAll();
      i = 0;
    }
    DecryptedInitiation d;
    TUNDRA_CHECK(DecryptInitiation(p.b, msgs[i], d) == DropReason::kNone);
    now += std::chrono::seconds(1);
    TUNDRA_CHECK(p.hb.ConsumeInitiation(d, msgs[i], now) == DropReason::kNone);
    MessageResponse r;
    TUNDRA_CHECK(p.hb.CreateResponse(7, r) == DropReason::kNone);
    SessionKeys keys;
    TUNDRA_CHECK(p.hb.BeginSession(keys));
    benchmark::DoNotOptimize(keys.send.data());
    ++i;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_ConsumeInitiationAndRespond);

void BM_ReplayInOrder(benchmark::State& state) {
  ReplayWindow w;
  uint64_t c = 0;
  for (auto _ : state) benchmark::DoNotOptimize(w.Validate(c++, kRejectAfterMessages));
}
BENCHMARK(BM_ReplayInOrder);

// Counters arriving out of order within the window (as across the GRO batches of two paths).
void BM_ReplayReordered(benchmark::State& state) {
  ReplayWindow w;
  uint64_t base = 0;
  for (auto _ : state) {
    for (uint64_t j : {3, 0, 2, 1, 7, 5, 6, 4})
      benchmark::DoNotOptimize(w.Validate(base + j, kRejectAfterMessages));
    base += 8;
  }
  state.SetItemsProcessed(int64_t(state.iterations() * 8));
}
BENCHMARK(BM_ReplayReordered);

}  // namespace
}  // namespace tundra::proto

BENCHMARK_MAIN();
