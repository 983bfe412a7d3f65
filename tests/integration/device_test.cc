// Two Devices in one process, joined by FakeBind and fed by FakeTun, configured through the
// UAPI text parser, with a FakeClock driving every timer (wireguard-go device_test.go
// genTestPair, in C++).
#include "tundra/device/device.h"

#include <gtest/gtest.h>

#include <random>

#include "pair_fixture.h"
#include "tundra/crypto/random.h"

namespace tundra {
namespace {

using testing::milliseconds;
using testing::PairTest;
using testing::Ping4;
using testing::Ping6;
using testing::seconds;
using testing::Side;
using testing::WaitFor;

TEST_F(PairTest, PingBothWaysIpv4AndIpv6) {
  StartBoth();
  EXPECT_TRUE(Ping(a_, b_, 1));
  EXPECT_TRUE(Ping(b_, a_, 2));
  EXPECT_TRUE(Ping(a_, b_, 3, true));
  EXPECT_TRUE(Ping(b_, a_, 4, true));
  auto pa = Peer(a_), pb = Peer(b_);
  EXPECT_NE(pa.last_handshake.sec, 0);
  EXPECT_NE(pb.last_handshake.sec, 0);
  EXPECT_GT(pa.tx_bytes, 148u);
  EXPECT_GT(pa.rx_bytes, 92u);
  EXPECT_EQ(pa.endpoint->ToString(), "198.18.0.2:51821");
}

TEST_F(PairTest, ResponderSendsFirst) {
  StartBoth();
  EXPECT_TRUE(Ping(b_, a_, 1));
  EXPECT_TRUE(Ping(a_, b_, 2));
}

// S1 of the reference, one way: 10 pings from B as the first traffic -> exact byte counters.
// B initiates (148), A answers (92), then 10 x (84-byte packet padded to 96 = 128-byte message).
TEST_F(PairTest, TransferCountersMatchTheKernelFormula) {
  StartBoth();
  for (uint16_t i = 0; i < 10; ++i) ASSERT_TRUE(Ping(b_, a_, i));
  // The counters move just after delivery: wait for them to settle, then demand exact values.
  EXPECT_TRUE(WaitFor([&] { return Peer(b_).tx_bytes == 10u * 128 + 148; })) << Peer(b_).tx_bytes;
  EXPECT_TRUE(WaitFor([&] { return Peer(a_).rx_bytes == 10u * 128 + 148; })) << Peer(a_).rx_bytes;
  EXPECT_EQ(Peer(a_).tx_bytes, 92u);
  EXPECT_EQ(Peer(b_).rx_bytes, 92u);
  // tundra's per-peer counters (tundra_peers=1): one handshake, B's one initiation, 10 data
  // messages one way, nothing dropped.
  const device::PeerCounterValues ca = Peer(a_).counters, cb = Peer(b_).counters;
  EXPECT_EQ(cb.tx_packets, 10u);
  EXPECT_EQ(ca.rx_packets, 10u);
  EXPECT_EQ(ca.tx_packets, 0u);
  EXPECT_EQ(cb.rx_packets, 0u);
  EXPECT_EQ(cb.initiations_sent, 1u);
  EXPECT_EQ(ca.initiations_sent, 0u);
  EXPECT_EQ(ca.handshakes, 1u);
  EXPECT_EQ(cb.handshakes, 1u);
  EXPECT_EQ(ca.dropped + cb.dropped, 0u);
}

TEST_F(PairTest, RekeyAfterTwoMinutesWithoutLosingPackets) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  const int64_t first = Peer(a_).last_handshake.sec;
  for (int i = 0; i < 13; ++i) {  // one ping every 10 s, for 130 s
    Advance(seconds(10));
    ASSERT_TRUE(Ping(a_, b_, uint16_t(10 + i)));
    ASSERT_TRUE(Ping(b_, a_, uint16_t(100 + i)));
    SettleHandshakes(a_);  // the rekey completes before the clock jumps past REKEY_TIMEOUT
    SettleHandshakes(b_);
  }
  EXPECT_TRUE(WaitFor([&] { return Peer(a_).last_handshake.sec > first; }))
      << "no new handshake after REKEY_AFTER_TIME";
  EXPECT_EQ(a_.dev->drops().Total(), 0u) << DropSummary(a_);
}

TEST_F(PairTest, ExpiredKeysHandshakeBeforeSending) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  const int64_t first = Peer(a_).last_handshake.sec;
  // Time passes as it would: B's passive keepalive answers the ping at 10 s (which cancels A's
  // new-handshake timer), then nothing until past REJECT_AFTER_TIME.
  const uint64_t rx = Peer(a_).rx_bytes;
  Advance(seconds(11));
  ASSERT_TRUE(WaitFor([&] { return Peer(a_).rx_bytes == rx + 32; }));
  Advance(seconds(190));
  ASSERT_TRUE(Ping(a_, b_, 2));
  EXPECT_GT(Peer(a_).last_handshake.sec, first);
}

TEST_F(PairTest, RoamingFollowsTheLatestAuthenticatedSource) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  Apply(b_, {"listen_port=51999"});  // B moves to another port
  ASSERT_TRUE(Ping(b_, a_, 2));
  EXPECT_EQ(Peer(a_).endpoint->ToString(), "198.18.0.2:51999");
  ASSERT_TRUE(Ping(a_, b_, 3));  // A's reply reaches B at its new port
}

TEST_F(PairTest, PeerRemovalAndReAdd) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  Apply(a_, {"public_key=" + ToHex(b_.pub), "remove=true"});
  EXPECT_TRUE(a_.dev->GetStatus().peers.empty());
  a_.tun->Inject(Ping4(a_.inner4, b_.inner4, 2));
  EXPECT_TRUE(WaitFor([&] { return a_.dev->drops().Get(proto::DropReason::kNoRoute) == 1; }));
  b_.tun->Inject(Ping4(b_.inner4, a_.inner4, 3));
  EXPECT_TRUE(WaitFor([&] { return a_.dev->drops().Get(proto::DropReason::kUnknownIndex) >= 1; }));
  for (const auto& w : a_.tun->TakeWritten()) {  // only the ICMP error for ping 2, not ping 3
    EXPECT_TRUE(w.size() >= 28 && w[9] == 1 && w[20] == 3);
  }
  Apply(a_, Config(a_, b_));
  Advance(seconds(6));  // past B's REKEY_TIMEOUT rate limit
  EXPECT_TRUE(Ping(a_, b_, 4));
  EXPECT_TRUE(Ping(b_, a_, 5));
}

// netns.sh S8: after a private key change the next packet handshakes at once, although the
// last handshake was less than REKEY_TIMEOUT ago.
TEST_F(PairTest, PrivateKeyChangeHandshakesAtOnce) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  const crypto::PublicKey old_pub = a_.pub;
  a_.key = crypto::GeneratePrivateKey();
  a_.pub = crypto::PublicFromPrivate(a_.key);
  Apply(a_, {"private_key=" + ToHex(a_.key.span())});
  Apply(b_, {"public_key=" + ToHex(old_pub), "remove=true"});
  Apply(b_, Config(b_, a_));
  EXPECT_TRUE(Ping(a_, b_, 2));  // no clock advance: B only knows A's new key
}

// A packet no peer takes is answered with ICMP host unreachable from its destination.
TEST_F(PairTest, NoRouteIsAnsweredWithIcmpUnreachable) {
  StartBoth();
  a_.tun->Inject(Ping4(a_.inner4, "198.19.0.99", 1));
  std::vector<uint8_t> icmp;
  EXPECT_TRUE(WaitFor([&] {
    for (auto& w : a_.tun->TakeWritten()) {
      if (w.size() >= 28 && w[9] == 1 && w[20] == 3) icmp = w;
    }
    return !icmp.empty();
  }));
  ASSERT_GE(icmp.size(), 28u);
  EXPECT_EQ(icmp[21], 1);  // host unreachable
  EXPECT_EQ(icmp[12], 198);
  EXPECT_EQ(icmp[15], 99);  // from 198.19.0.99
  EXPECT_EQ(icmp[19], 1);   // to 198.19.0.1
  EXPECT_EQ(a_.dev->icmp_errors_sent(), 1u);
  EXPECT_EQ(a_.dev->drops().Get(proto::DropReason::kNoRoute), 1u);
}

TEST_F(PairTest, ReplayedDataIsDroppedAndEndpointDoesNotMove) {
  const std::vector<uint8_t> replay = StartAndCaptureDataMessage();
  ASSERT_FALSE(replay.empty());
  // Replayed from another address: dropped, and B keeps A's real endpoint.
  ASSERT_TRUE(
      net_.Inject(*transport::Endpoint::Parse("198.18.7.7:4444"), b_.bind->local(), replay));
  EXPECT_TRUE(WaitFor([&] { return b_.dev->drops().Get(proto::DropReason::kReplayed) == 1; }));
  EXPECT_EQ(Peer(b_).counters.dropped, 1u);  // the replay was this peer's session's
  EXPECT_TRUE(b_.tun->TakeWritten().empty());
  EXPECT_EQ(Peer(b_).endpoint->ToString(), "198.18.0.1:51820");
}

TEST_F(PairTest, GarbageIsSilentAndCounted) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  const size_t sent_before = b_.bind->sent();
  const auto garbage_from = *transport::Endpoint::Parse("198.18.9.9:9999");
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> d(rng() % 200);
    for (auto& x : d) x = uint8_t(rng());
    if (d.size() >= 4 && i % 2) StoreLe32(d.data(), 1 + rng() % 4);
    if (i % 7 == 0) d.resize(148), StoreLe32(d.data(), 1);
    net_.Inject(garbage_from, b_.bind->local(), d);
  }
  EXPECT_TRUE(WaitFor([&] { return b_.dev->drops().Total() >= 2000; })) << DropSummary(b_);
  EXPECT_EQ(b_.bind->sent(), sent_before);  // not one byte back
  EXPECT_TRUE(Ping(a_, b_, 2));
}

TEST_F(PairTest, RetransmitsTwentyInitiationsThenGivesUp) {
  std::atomic<int> initiations{0};
  net_.set_filter([&](const transport::Endpoint& from, const transport::Endpoint&, ByteSpan d) {
    if (TypeOf(d) == 1 && from.port() == 51820) ++initiations;
    return false;  // B is unreachable
  });
  StartBoth();
  a_.tun->Inject(Ping4(a_.inner4, b_.inner4, 1));
  ASSERT_TRUE(WaitFor([&] { return initiations == 1; }));
  for (int k = 2; k <= 25; ++k) {
    Advance(milliseconds(5400));  // REKEY_TIMEOUT + the largest jitter
    if (k <= 20) {
      ASSERT_TRUE(WaitFor([&] { return initiations == k; })) << k;
    }
  }
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(initiations, 20);
  EXPECT_TRUE(
      WaitFor([&] { return a_.dev->drops().Get(proto::DropReason::kHandshakeGaveUp) == 1; }));
  EXPECT_EQ(Peer(a_).counters.initiations_sent, 20u);
  EXPECT_EQ(Peer(a_).counters.handshakes, 0u);
  EXPECT_EQ(Peer(a_).counters.dropped, 1u);  // the staged ping
}

TEST_F(PairTest, StagedQueueKeepsTheNewest128) {
  std::atomic<bool> block_responses{true};
  net_.set_filter([&](const transport::Endpoint&, const transport::Endpoint&, ByteSpan d) {
    return !(block_responses && TypeOf(d) == 2);
  });
  StartBoth();
  for (uint16_t i = 0; i < 200; ++i) a_.tun->Inject(Ping4(a_.inner4, b_.inner4, i));
  ASSERT_TRUE(WaitFor([&] {
    return a_.dev->drops().Get(proto::DropReason::kStagedOverflow) == 72;
  })) << DropSummary(a_);
  EXPECT_EQ(Peer(a_).counters.dropped, 72u);
  // B must have answered the first initiation (its answer is blocked) before time jumps: a
  // message still in flight across a 5.4 s jump would be stamped with the later time.
  ASSERT_TRUE(WaitFor([&] { return Peer(b_).rx_bytes == 148; }));
  block_responses = false;
  Advance(milliseconds(5400));  // the retransmitted initiation gets through
  ASSERT_TRUE(b_.tun->WaitForWritten(128, milliseconds(5000)))
      << DropSummary(a_) << " | " << DropSummary(b_) << " | staged delivered "
      << b_.tun->TakeWritten().size();
  auto got = b_.tun->TakeWritten();
  ASSERT_EQ(got.size(), 128u);
  EXPECT_EQ(got.front(), Ping4(a_.inner4, b_.inner4, 72));
  EXPECT_EQ(got.back(), Ping4(a_.inner4, b_.inner4, 199));
}

class UnderLoadTest : public PairTest {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kError);
    Init(a_, "a", "198.18.0.1", "198.19.0.1", "fd19::1", 51820);
    // One queued handshake message is already "under load" for B: it demands cookies.
    Init(b_, "b", "198.18.0.2", "198.19.0.2", "fd19::2", 51821, /*max_queued_handshakes=*/8);
  }
};

TEST_F(UnderLoadTest, CookieReplyThenMac2Handshake) {
  std::atomic<int> cookies{0};
  net_.set_filter([&](const transport::Endpoint&, const transport::Endpoint&, ByteSpan d) {
    if (TypeOf(d) == 3) ++cookies;
    return true;
  });
  StartBoth();
  a_.tun->Inject(Ping4(a_.inner4, b_.inner4, 1));
  ASSERT_TRUE(WaitFor([&] { return a_.dev->cookie_replies_accepted() == 1; }));
  EXPECT_EQ(cookies, 1);
  EXPECT_EQ(b_.dev->drops().Get(proto::DropReason::kCookieSent), 1u);
  // A's retransmission carries mac2 from the cookie and is accepted.
  Advance(milliseconds(5400));
  ASSERT_TRUE(b_.tun->WaitForWritten(1, milliseconds(5000))) << DropSummary(a_) << DropSummary(b_);
  EXPECT_NE(Peer(a_).last_handshake.sec, 0);
}

TEST_F(PairTest, PersistentKeepaliveStartsAHandshakeAndRepeats) {
  StartBoth();
  Apply(a_, {"public_key=" + ToHex(b_.pub), "persistent_keepalive_interval=25"});
  ASSERT_TRUE(WaitFor([&] { return Peer(b_).last_handshake.sec != 0; }));
  const uint64_t rx = Peer(b_).rx_bytes;
  Advance(seconds(26));
  EXPECT_TRUE(WaitFor([&] { return Peer(b_).rx_bytes >= rx + 32; }));
  EXPECT_EQ(Peer(a_).persistent_keepalive, 25);
}

TEST_F(PairTest, ConfigChurnWhileTrafficFlows) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  std::atomic<bool> stop{false};
  std::thread traffic([&] {
    for (uint16_t i = 0; !stop; ++i) {
      a_.tun->Inject(Ping4(a_.inner4, b_.inner4, i));
      b_.tun->Inject(Ping6(b_.inner6, a_.inner6, i));
      std::this_thread::sleep_for(milliseconds(1));
    }
  });
  const crypto::PrivateKey other = crypto::GeneratePrivateKey();
  for (int i = 0; i < 200; ++i) {
    Apply(a_, {"public_key=" + ToHex(b_.pub),
               "persistent_keepalive_interval=" + std::to_string(i % 3)});
    (void)a_.dev->GetStatus();
    if (i % 50 == 0) {
      Apply(a_, {"private_key=" + ToHex(other.span())});
      Apply(a_, {"private_key=" + ToHex(a_.key.span())});
    }
  }
  stop = true;
  traffic.join();
  // The last private key change may have sent an initiation just as the clock jumps: its
  // retransmission repeats its timestamp (the fake wall clock stands still), so recovery can
  // take one more REKEY_TIMEOUT.
  Advance(seconds(6));
  EXPECT_TRUE(PingRecovering(a_, b_, 60000));
  EXPECT_TRUE(Ping(b_, a_, 60001));
}

TEST_F(PairTest, WrongPresharedKeyNeverCompletes) {
  crypto::SymmetricKey k1, k2;
  crypto::RandomBytes(k1.span());
  crypto::RandomBytes(k2.span());
  auto ca = Config(a_, b_);
  ca.push_back("preshared_key=" + ToHex(k1.span()));
  auto cb = Config(b_, a_);
  cb.push_back("preshared_key=" + ToHex(k2.span()));
  Apply(a_, ca);
  Apply(b_, cb);
  ASSERT_TRUE(a_.dev->Start().ok());
  ASSERT_TRUE(b_.dev->Start().ok());
  a_.tun->Inject(Ping4(a_.inner4, b_.inner4, 1));
  EXPECT_TRUE(
      WaitFor([&] { return a_.dev->drops().Get(proto::DropReason::kHandshakeDecrypt) == 1; }));
  EXPECT_FALSE(b_.tun->WaitForWritten(1, milliseconds(200)));
  EXPECT_EQ(Peer(a_).last_handshake.sec, 0);
}

}  // namespace
}  // namespace tundra

namespace tundra {
namespace {

// One device with two peers: routing by destination to the right peer, sources checked per peer.
class ThreePeersTest : public PairTest {
 protected:
  void SetUp() override {
    PairTest::SetUp();
    Init(c_, "c", "198.18.0.3", "198.19.0.3", "fd19::3", 51822);
  }
  void TearDown() override {
    if (c_.dev) c_.dev->Close();
    PairTest::TearDown();
  }
  std::vector<std::string> PeerLines(const Side& peer) {
    return {"public_key=" + ToHex(peer.pub),
            "endpoint=" + peer.underlay + ":" + std::to_string(peer.port),
            "allowed_ip=" + peer.inner4 + "/32", "allowed_ip=" + peer.inner6 + "/128"};
  }
  Side c_;
};

TEST_F(ThreePeersTest, HubRoutesToEachPeer) {
  auto hub = Config(a_, b_);
  for (auto& l : PeerLines(c_)) hub.push_back(l);
  Apply(a_, hub);
  Apply(b_, Config(b_, a_));
  Apply(c_, Config(c_, a_));
  ASSERT_TRUE(a_.dev->Start().ok());
  ASSERT_TRUE(b_.dev->Start().ok());
  ASSERT_TRUE(c_.dev->Start().ok());
  EXPECT_TRUE(Ping(a_, b_, 1));
  EXPECT_TRUE(Ping(a_, c_, 2));
  EXPECT_TRUE(Ping(c_, a_, 3, true));
  EXPECT_TRUE(Ping(b_, a_, 4, true));
  auto st = a_.dev->GetStatus();
  ASSERT_EQ(st.peers.size(), 2u);
  for (const auto& p : st.peers) EXPECT_NE(p.last_handshake.sec, 0);
  // C may not send with B's address as its source: dropped at A.
  c_.tun->Inject(Ping4(b_.inner4, a_.inner4, 5));
  EXPECT_TRUE(
      WaitFor([&] { return a_.dev->drops().Get(proto::DropReason::kSourceNotAllowed) == 1; }));
  // Removing C leaves B working.
  Apply(a_, {"public_key=" + ToHex(c_.pub), "remove=true"});
  EXPECT_EQ(a_.dev->GetStatus().peers.size(), 1u);
  EXPECT_TRUE(Ping(a_, b_, 6));
}

}  // namespace
}  // namespace tundra
