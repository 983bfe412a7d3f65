#include "tundra/proto/timers.h"

#include <gtest/gtest.h>

#include "tundra/base/fake_clock.h"
#include "tundra/proto/constants.h"

namespace tundra::proto {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class FixedJitter : public JitterSource {
 public:
  explicit FixedJitter(Duration d) : d_(d) {}
  Duration Next() override { return d_; }

 private:
  Duration d_;
};

class TimersTest : public ::testing::Test {
 protected:
  FixedJitter jitter_{milliseconds(100)};
  PeerTimers timers_{jitter_};
  FakeClock clock_;
  TimePoint now() { return clock_.Now(); }
  TimerActions AdvanceAndPoll(Duration d) {
    clock_.Advance(d);
    return timers_.Poll(now());
  }
};

TEST_F(TimersTest, RetransmitsNineteenTimesThenGivesUp) {
  timers_.ResetHandshakeAttempts();
  timers_.OnHandshakeInitiated(now());
  int initiations = 1;
  for (;;) {
    // Nothing fires just before the deadline (REKEY_TIMEOUT + jitter).
    EXPECT_FALSE(AdvanceAndPoll(kRekeyTimeout + milliseconds(99)).any());
    TimerActions a = AdvanceAndPoll(milliseconds(1));
    if (a.give_up) {
      EXPECT_FALSE(a.send_initiation);
      break;
    }
    ASSERT_TRUE(a.send_initiation);
    EXPECT_TRUE(a.initiation_is_retry);
    EXPECT_TRUE(a.clear_endpoint_source);
    ++initiations;
    timers_.OnHandshakeInitiated(now());
    ASSERT_LT(initiations, 100);
  }
  EXPECT_EQ(initiations, 20);  // "did not complete after 20 attempts, giving up"
  EXPECT_TRUE(timers_.zero_key_material_pending());
  EXPECT_FALSE(timers_.retransmit_pending());
}

TEST_F(TimersTest, HandshakeCompleteStopsRetransmits) {
  timers_.OnHandshakeInitiated(now());
  EXPECT_TRUE(AdvanceAndPoll(kRekeyTimeout + milliseconds(100)).send_initiation);
  timers_.OnHandshakeInitiated(now());
  timers_.OnHandshakeComplete(now());
  EXPECT_EQ(timers_.handshake_attempts(), 0u);
  EXPECT_FALSE(AdvanceAndPoll(seconds(60)).any());
}

TEST_F(TimersTest, PassiveKeepaliveAfterTenSeconds) {
  timers_.OnDataReceived(now());
  EXPECT_FALSE(AdvanceAndPoll(kKeepaliveTimeout - milliseconds(1)).any());
  EXPECT_TRUE(AdvanceAndPoll(milliseconds(1)).send_keepalive);
  EXPECT_FALSE(AdvanceAndPoll(seconds(60)).any());
}

TEST_F(TimersTest, SendingCancelsKeepalive) {
  timers_.OnDataReceived(now());
  clock_.Advance(seconds(5));
  timers_.OnAnyAuthenticatedPacketSent(now());
  EXPECT_FALSE(AdvanceAndPoll(seconds(60)).any());
}

TEST_F(TimersTest, MoreDataWhilePendingNeedsAnotherKeepalive) {
  timers_.OnDataReceived(now());
  clock_.Advance(seconds(3));
  timers_.OnDataReceived(now());
  EXPECT_TRUE(AdvanceAndPoll(seconds(7)).send_keepalive);
  EXPECT_FALSE(AdvanceAndPoll(kKeepaliveTimeout - milliseconds(1)).any());
  EXPECT_TRUE(AdvanceAndPoll(milliseconds(1)).send_keepalive);
  EXPECT_FALSE(AdvanceAndPoll(seconds(60)).any());
}

TEST_F(TimersTest, NewHandshakeWhenRepliesStop) {
  timers_.OnDataSent(now());
  clock_.Advance(seconds(1));
  timers_.OnDataSent(now());  // does not push the deadline out
  const Duration rest = kKeepaliveTimeout + kRekeyTimeout + milliseconds(100) - seconds(1);
  EXPECT_FALSE(AdvanceAndPoll(rest - milliseconds(1)).any());
  TimerActions a = AdvanceAndPoll(milliseconds(1));
  EXPECT_TRUE(a.send_initiation);
  EXPECT_FALSE(a.initiation_is_retry);
  EXPECT_TRUE(a.clear_endpoint_source);
}

TEST_F(TimersTest, AuthenticatedReplyCancelsNewHandshake) {
  timers_.OnDataSent(now());
  clock_.Advance(seconds(14));
  timers_.OnAnyAuthenticatedPacketReceived(now());
  EXPECT_FALSE(AdvanceAndPoll(seconds(60)).any());
}

TEST_F(TimersTest, ZeroKeyMaterialAfter540Seconds) {
  timers_.OnSessionDerived(now());
  EXPECT_TRUE(AdvanceAndPoll(kRejectAfterTime).went_down);  // the only thing before 540 s
  EXPECT_FALSE(AdvanceAndPoll(kZeroKeyMaterialAfter - kRejectAfterTime - milliseconds(1)).any());
  EXPECT_TRUE(AdvanceAndPoll(milliseconds(1)).zero_key_material);
  EXPECT_EQ(kZeroKeyMaterialAfter, seconds(540));
}

// PeerUp/PeerDown: up on the first session after being down, down when REJECT_AFTER_TIME
// passes without a newer session; rekeys in between keep it up without a second "up".
TEST_F(TimersTest, UpOnFirstSessionDownWhenTheLastExpires) {
  EXPECT_FALSE(timers_.up());
  EXPECT_TRUE(timers_.OnSessionDerived(now()));  // came up
  EXPECT_TRUE(timers_.up());
  clock_.Advance(kRekeyAfterTime);
  EXPECT_FALSE(timers_.OnSessionDerived(now()));  // a rekey: still up, no new event
  // The first session's expiry has passed; the second's has not.
  EXPECT_FALSE(AdvanceAndPoll(kRejectAfterTime - milliseconds(1)).went_down);
  EXPECT_TRUE(timers_.up());
  TimerActions a = AdvanceAndPoll(milliseconds(1));
  EXPECT_TRUE(a.went_down);
  EXPECT_TRUE(a.any());  // the device acts on it (RunTimers skips a peer with nothing to do)
  EXPECT_FALSE(timers_.up());
  EXPECT_FALSE(AdvanceAndPoll(seconds(1)).went_down);  // once
  // The next handshake brings it up again.
  EXPECT_TRUE(timers_.OnSessionDerived(now()));
}

TEST_F(TimersTest, ExpiryIsTheNextDeadline) {
  timers_.OnSessionDerived(now());
  ASSERT_TRUE(timers_.NextDeadline().has_value());
  EXPECT_EQ(*timers_.NextDeadline(), now() + kRejectAfterTime);
}

TEST_F(TimersTest, SessionsClearedWhileUpIsDownOnce) {
  EXPECT_FALSE(timers_.OnSessionsCleared());  // never up: no event
  timers_.OnSessionDerived(now());
  EXPECT_TRUE(timers_.OnSessionsCleared());
  EXPECT_FALSE(timers_.up());
  EXPECT_FALSE(AdvanceAndPoll(kRejectAfterTime).went_down);  // not a second time
}

TEST_F(TimersTest, PersistentKeepalive) {
  timers_.OnAnyAuthenticatedPacketTraversal(now());  // off: nothing armed
  EXPECT_FALSE(timers_.persistent_keepalive_pending());
  timers_.set_persistent_keepalive(25);
  timers_.OnAnyAuthenticatedPacketTraversal(now());
  EXPECT_FALSE(AdvanceAndPoll(seconds(24)).any());
  clock_.Advance(milliseconds(500));
  timers_.OnAnyAuthenticatedPacketTraversal(now());  // traffic pushes it out
  EXPECT_FALSE(AdvanceAndPoll(seconds(24)).any());
  EXPECT_TRUE(AdvanceAndPoll(seconds(1)).send_keepalive);
  // Turned off while armed: expires without a keepalive.
  timers_.OnAnyAuthenticatedPacketTraversal(now());
  timers_.set_persistent_keepalive(0);
  EXPECT_FALSE(AdvanceAndPoll(seconds(30)).send_keepalive);
}

TEST_F(TimersTest, NextDeadlineAndStopAll) {
  EXPECT_FALSE(timers_.NextDeadline().has_value());
  timers_.OnDataReceived(now());
  timers_.OnHandshakeInitiated(now());
  ASSERT_TRUE(timers_.NextDeadline().has_value());
  EXPECT_EQ(*timers_.NextDeadline(), now() + kRekeyTimeout + milliseconds(100));
  timers_.StopAll();
  EXPECT_FALSE(timers_.NextDeadline().has_value());
}

TEST(JitterTest, RandomJitterStaysInRange) {
  for (int i = 0; i < 1000; ++i) {
    Duration d = RandomJitter().Next();
    EXPECT_GE(d, Duration::zero());
    EXPECT_LT(d, kRekeyTimeoutJitterMax);
  }
}

}  // namespace
}  // namespace tundra::proto
