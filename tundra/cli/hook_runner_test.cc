#include "tundra/cli/hook_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "tundra/crypto/key_text.h"

namespace tundra::cli {
namespace {

using device::PeerEvent;
using device::PeerEventKind;
using std::chrono::milliseconds;

crypto::PublicKey Key(uint8_t b) {
  crypto::PublicKey k{};
  k.fill(b);
  return k;
}

PeerEvent Event(PeerEventKind kind, uint8_t key, const char* endpoint) {
  PeerEvent e;
  e.kind = kind;
  e.public_key = Key(key);
  if (endpoint != nullptr) e.endpoint = transport::Endpoint::Parse(endpoint).value();
  return e;
}

// Records each line it is given, substituted, as RunHook would run it.
struct Recorder {
  std::mutex mu;
  std::vector<std::string> lines;
  HookRunner::RunFn Fn(std::string_view fail_on = "") {
    return [this, fail_on](std::string_view line, const HookContext& ctx) -> Status {
      std::lock_guard lock(mu);
      lines.push_back(SubstituteHook(line, ctx));
      if (!fail_on.empty() && line == fail_on) return InvalidArgument("exited with status 1");
      return OkStatus();
    };
  }
  std::vector<std::string> Get() {
    std::lock_guard lock(mu);
    return lines;
  }
};

PeerHooks TwoPeers() {
  PeerHooks h;
  h.up = {"all-up %i %k %e"};
  h.down = {"all-down %k"};
  h.peers.push_back(PeerHookSpec{Key(1), {"one-up %e"}, {"one-down"}});
  h.peers.push_back(PeerHookSpec{Key(2), {}, {"two-down %i"}});
  return h;
}

TEST(PeerHooksTest, InterfaceLinesThenThePeersOwn) {
  const PeerHooks h = TwoPeers();
  EXPECT_EQ(h.LinesFor(PeerEventKind::kUp, Key(1)),
            (std::vector<std::string>{"all-up %i %k %e", "one-up %e"}));
  EXPECT_EQ(h.LinesFor(PeerEventKind::kDown, Key(2)),
            (std::vector<std::string>{"all-down %k", "two-down %i"}));
  EXPECT_EQ(h.LinesFor(PeerEventKind::kUp, Key(3)), (std::vector<std::string>{"all-up %i %k %e"}));
  EXPECT_FALSE(h.empty());
  EXPECT_TRUE(PeerHooks{}.empty());
  PeerHooks only_peer;
  only_peer.peers.push_back(PeerHookSpec{Key(1), {}, {"x"}});
  EXPECT_FALSE(only_peer.empty());
}

TEST(HookRunnerTest, RunsTheLinesOfEachEventInOrderWithSubstitutions) {
  Recorder rec;
  HookRunner runner("wg5", TwoPeers(), rec.Fn("one-up %e"));
  runner.Start();
  runner.Post(Event(PeerEventKind::kUp, 1, "198.18.0.2:51820"));
  runner.Post(Event(PeerEventKind::kDown, 2, nullptr));
  ASSERT_TRUE(runner.WaitIdle(milliseconds(5000)));
  const std::string k1 = crypto::KeyToBase64(Key(1)), k2 = crypto::KeyToBase64(Key(2));
  EXPECT_EQ(rec.Get(), (std::vector<std::string>{"all-up wg5 " + k1 + " 198.18.0.2:51820",
                                                 "one-up 198.18.0.2:51820", "all-down " + k2,
                                                 "two-down wg5"}));
  auto c = runner.counters();
  EXPECT_EQ(c.ran, 4u);
  EXPECT_EQ(c.failed, 1u);  // one-up failed; the next event's lines still ran
  EXPECT_EQ(c.dropped, 0u);
}

TEST(HookRunnerTest, AnEventWithoutLinesIsNotQueued) {
  Recorder rec;
  PeerHooks h;
  h.peers.push_back(PeerHookSpec{Key(1), {"up"}, {}});
  HookRunner runner("wg5", h, rec.Fn());
  runner.Start();
  runner.Post(Event(PeerEventKind::kDown, 1, nullptr));  // no down lines
  runner.Post(Event(PeerEventKind::kUp, 2, nullptr));    // not peer 1
  ASSERT_TRUE(runner.WaitIdle(milliseconds(5000)));
  EXPECT_TRUE(rec.Get().empty());
  EXPECT_EQ(runner.counters().dropped, 0u);
}

// A hook that blocks holds up only the runner: Post returns at once, the queue is bounded and
// what does not fit is counted.
TEST(HookRunnerTest, ABlockedHookNeverBlocksPostAndOverflowIsCounted) {
  std::mutex gate;
  gate.lock();
  std::atomic<int> started{0};
  PeerHooks h;
  h.up = {"slow"};
  HookRunner runner(
      "wg5", h,
      [&](std::string_view, const HookContext&) {
        ++started;
        std::lock_guard wait(gate);  // until the test opens the gate
        return OkStatus();
      },
      /*capacity=*/4);
  runner.Start();
  runner.Post(Event(PeerEventKind::kUp, 1, nullptr));
  while (started.load() == 0) std::this_thread::sleep_for(milliseconds(1));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) runner.Post(Event(PeerEventKind::kUp, 1, nullptr));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(500));
  EXPECT_EQ(runner.counters().dropped, 6u);  // 4 queued behind the running one
  gate.unlock();
  ASSERT_TRUE(runner.WaitIdle(milliseconds(5000)));
  EXPECT_EQ(runner.counters().ran, 5u);
}

TEST(HookRunnerTest, StopDropsWhatIsQueuedAndJoins) {
  std::mutex gate;
  gate.lock();
  std::atomic<int> started{0};
  PeerHooks h;
  h.down = {"slow"};
  HookRunner runner("wg5", h, [&](std::string_view, const HookContext&) {
    ++started;
    std::lock_guard wait(gate);
    return OkStatus();
  });
  runner.Start();
  for (int i = 0; i < 3; ++i) runner.Post(Event(PeerEventKind::kDown, 1, nullptr));
  while (started.load() == 0) std::this_thread::sleep_for(milliseconds(1));
  std::thread stopper([&] { runner.Stop(); });
  std::this_thread::sleep_for(milliseconds(20));
  gate.unlock();  // the running hook finishes; Stop returns
  stopper.join();
  EXPECT_EQ(runner.counters().ran, 1u);
  EXPECT_EQ(runner.counters().dropped, 2u);
  runner.Post(Event(PeerEventKind::kDown, 1, nullptr));  // after Stop: dropped, not run
  EXPECT_EQ(runner.counters().dropped, 3u);
  EXPECT_EQ(started.load(), 1);
}

}  // namespace
}  // namespace tundra::cli
