#include "tundra/transport/tcp_policy.h"

#include <gtest/gtest.h>

#include <vector>

#include "tundra/base/fake_clock.h"

namespace tundra::transport {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ReconnectBackoffTest, DoublesFromFirstToMaxAndResets) {
  ReconnectBackoff b;
  const std::vector<Duration> want = {milliseconds(250), milliseconds(500), seconds(1),
                                      seconds(2),        seconds(4),        seconds(8),
                                      seconds(16),       seconds(16),       seconds(16)};
  for (Duration d : want) EXPECT_EQ(b.Next(), d);
  EXPECT_EQ(b.failures(), want.size());
  b.Reset();
  EXPECT_EQ(b.failures(), 0u);
  EXPECT_EQ(b.Next(), kBackoffFirst);
}

TEST(ReconnectBackoffTest, ScheduleOnAFakeClock) {
  // Attempts at the times a dialer computes them: each failure at `now` retries at now + Next().
  FakeClock clock;
  ReconnectBackoff b;
  const TimePoint start = clock.Now();
  std::vector<Duration> attempts;
  for (int i = 0; i < 8; ++i) {
    clock.Advance(b.Next());
    attempts.push_back(clock.Now() - start);
  }
  const std::vector<Duration> want = {milliseconds(250),   milliseconds(750),  milliseconds(1750),
                                      milliseconds(3750),  milliseconds(7750), milliseconds(15750),
                                      milliseconds(31750), milliseconds(47750)};
  EXPECT_EQ(attempts, want);
}

TEST(TransportModeTest, ParseAndName) {
  for (TransportMode m : {TransportMode::kUdp, TransportMode::kTcp, TransportMode::kAuto}) {
    TransportMode back;
    ASSERT_TRUE(ParseTransportMode(TransportModeName(m), back));
    EXPECT_EQ(back, m);
  }
  TransportMode out;
  EXPECT_FALSE(ParseTransportMode("TCP", out));
  EXPECT_FALSE(ParseTransportMode("", out));
  EXPECT_FALSE(ParseTransportMode("quic", out));
}

// The auto decision, as a table of events and the transport each initiation takes.
TEST(AutoTransportTest, DecisionTable) {
  enum Op { kInit, kUdpAuth, kTcpAuth, kWait };
  struct Step {
    Op op;
    Duration wait;   // for kWait
    Transport want;  // for kInit: the transport chosen; else the state after
  };
  const Duration probe = kAutoProbeInterval;
  const std::vector<std::pair<const char*, std::vector<Step>>> table = {
      {"udp answers: stays on udp",
       {{kInit, {}, Transport::kUdp},
        {kUdpAuth, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kUdpAuth, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp}}},
      {"three unanswered udp initiations: the fourth goes over tcp",
       {{kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kTcp},
        {kInit, {}, Transport::kTcp}}},
      {"tcp answers keep it on tcp",
       {{kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kTcp},
        {kTcpAuth, {}, Transport::kTcp},
        {kInit, {}, Transport::kTcp}}},
      {"on tcp, a probe over udp once per interval",
       {{kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kTcp},
        {kWait, probe - seconds(1), Transport::kTcp},
        {kInit, {}, Transport::kTcp},
        {kWait, seconds(1), Transport::kTcp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kTcp},
        {kWait, probe, Transport::kTcp},
        {kInit, {}, Transport::kUdp}}},
      {"a udp packet on tcp moves back to udp, and the count starts over",
       {{kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kTcp},
        {kUdpAuth, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kTcp}}},
      {"an answer between attempts resets the count",
       {{kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kUdpAuth, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kUdp},
        {kInit, {}, Transport::kTcp}}},
  };
  for (const auto& [name, steps] : table) {
    FakeClock clock;
    AutoTransport a;
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step& s = steps[i];
      switch (s.op) {
        case kInit:
          EXPECT_EQ(a.ForInitiation(clock.Now()), s.want) << name << " step " << i;
          continue;
        case kUdpAuth:
          a.OnAuthenticated(Transport::kUdp);
          break;
        case kTcpAuth:
          a.OnAuthenticated(Transport::kTcp);
          break;
        case kWait:
          clock.Advance(s.wait);
          break;
      }
      EXPECT_EQ(a.state(), s.want) << name << " step " << i;
    }
  }
}

TEST(AutoTransportTest, ProbeDueOnlyOnTcpAfterTheInterval) {
  FakeClock clock;
  AutoTransport a;
  EXPECT_FALSE(a.ProbeDue(clock.Now()));
  for (uint32_t i = 0; i <= kAutoFallbackAttempts; ++i) a.ForInitiation(clock.Now());
  ASSERT_EQ(a.state(), Transport::kTcp);
  EXPECT_FALSE(a.ProbeDue(clock.Now()));
  clock.Advance(kAutoProbeInterval);
  EXPECT_TRUE(a.ProbeDue(clock.Now()));
  a.OnAuthenticated(Transport::kUdp);
  EXPECT_FALSE(a.ProbeDue(clock.Now()));
}

}  // namespace
}  // namespace tundra::transport
