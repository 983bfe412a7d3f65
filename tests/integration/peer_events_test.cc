// Peer up/down events (the PeerUp/PeerDown hooks) from two live devices on a FakeClock: up on
// the first handshake on both sides, no second "up" on a rekey, down on both once
// REJECT_AFTER_TIME passes without a new session, up again on the next handshake.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "pair_fixture.h"
#include "tundra/crypto/key_text.h"

namespace tundra::testing {
namespace {

class PeerEventsTest : public PairTest {
 protected:
  void SetUp() override {
    peer_events_ = [this](const std::string& side, const device::PeerEvent& e) {
      std::lock_guard lock(mu_);
      std::string line = side + " " + device::PeerEventName(e.kind) + " " +
                         crypto::KeyToBase64(e.public_key) + " " +
                         (e.endpoint ? e.endpoint->ToString() : "-");
      events_.push_back(line);
    };
    PairTest::SetUp();
  }
  std::vector<std::string> Events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::string Line(const Side& side, const char* kind, const Side& peer) {
    return side.name + " " + kind + " " + crypto::KeyToBase64(peer.pub) + " " + peer.underlay +
           ":" + std::to_string(peer.port);
  }

  std::mutex mu_;
  std::vector<std::string> events_;
};

TEST_F(PeerEventsTest, UpOnHandshakeDownAfterRejectAfterTimeUpAgain) {
  StartBoth();
  EXPECT_TRUE(Events().empty());  // configured is not up
  ASSERT_TRUE(Ping(a_, b_, 1));
  ASSERT_TRUE(WaitFor([&] { return Events().size() == 2; }));
  {
    auto ev = Events();
    std::sort(ev.begin(), ev.end());
    EXPECT_EQ(ev, (std::vector<std::string>{Line(a_, "up", b_), Line(b_, "up", a_)}));
  }
  // Traffic for 130 s: a rekey, still up, no event.
  const int64_t first = Peer(a_).last_handshake.sec;
  for (int i = 0; i < 13; ++i) {
    Advance(seconds(10));
    ASSERT_TRUE(Ping(a_, b_, uint16_t(10 + i)));
    SettleHandshakes(a_);  // the rekey completes before the clock jumps again
  }
  // A rekey request still queued when the clock jumped crosses the next one (flood at B, and
  // the stopped clocks give its retransmission the same timestamp): let REKEY_TIMEOUT pass.
  const auto rekeyed = [&] { return Peer(a_).last_handshake.sec > first; };
  for (int i = 0; i < 3 && !WaitFor(rekeyed, milliseconds(2000)); ++i) Advance(seconds(6));
  ASSERT_TRUE(rekeyed());
  EXPECT_EQ(Events().size(), 2u);
  // Silence: down on both sides once their last session is REJECT_AFTER_TIME old, not before.
  // When that session came depends on the threads' timing (a slow run may rekey earlier through
  // the new-handshake timer): take it from each side's last handshake (the fake wall clock).
  // The responder derives its session when the initiation arrives but reports the handshake
  // only on the first data after it: up to one 10 s clock step earlier, hence the 12 s margin.
  // The passive keepalive goes, and must reach A before the clock jumps again: A's last data
  // armed its new-handshake timer (KEEPALIVE + REKEY_TIMEOUT), which only that keepalive stops;
  // a jump past it would start one more handshake and move the expiry this test waits for.
  const uint64_t a_rx = Peer(a_).counters.rx_packets;
  Advance(seconds(11));
  // Not an assertion: B may have had nothing left to acknowledge.
  WaitFor([&] { return Peer(a_).counters.rx_packets > a_rx; }, milliseconds(1000));
  std::this_thread::sleep_for(milliseconds(50));
  const int64_t last_a = Peer(a_).last_handshake.sec, last_b = Peer(b_).last_handshake.sec;
  const int64_t now = clock_.WallNow().sec;
  const int64_t earliest = std::min(last_a, last_b);
  int64_t latest = std::max(last_a, last_b);
  ASSERT_LT(now, earliest + 168);
  Advance(seconds(earliest + 168 - now));
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(Events().size(), 2u) << "down before the last session expired";
  Advance(seconds(latest + 182 - (earliest + 168)));
  // A handshake a timer started after last_a/last_b were read moves the expiry: follow it.
  const auto both_down = [&] { return Events().size() == 4; };
  for (int i = 0; i < 2 && !WaitFor(both_down, milliseconds(2000)); ++i) {
    const int64_t again = std::max(Peer(a_).last_handshake.sec, Peer(b_).last_handshake.sec);
    if (again == latest) break;
    latest = again;
    Advance(seconds(std::max<int64_t>(0, latest + 182 - clock_.WallNow().sec)));
  }
  ASSERT_TRUE(both_down()) << Events().size();
  {
    auto ev = Events();
    std::vector<std::string> downs(ev.begin() + 2, ev.end());
    std::sort(downs.begin(), downs.end());
    EXPECT_EQ(downs, (std::vector<std::string>{Line(a_, "down", b_), Line(b_, "down", a_)}));
  }
  // The next packet handshakes: up again.
  ASSERT_TRUE(Ping(a_, b_, 100));
  ASSERT_TRUE(WaitFor([&] { return Events().size() == 6; }));
  EXPECT_EQ(Events()[4].find(" up "), 1u);
}

TEST_F(PeerEventsTest, RemovingAnUpPeerIsDown) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  ASSERT_TRUE(WaitFor([&] { return Events().size() == 2; }));
  Apply(a_, {"public_key=" + ToHex(b_.pub), "remove=true"});
  ASSERT_TRUE(WaitFor([&] { return Events().size() == 3; }));
  EXPECT_EQ(Events()[2], Line(a_, "down", b_));
}

}  // namespace
}  // namespace tundra::testing
