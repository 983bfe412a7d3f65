// Per-peer shaping (Speed/Burst, docs/shaping.md) on two in-process devices with a fake clock:
// at one instant exactly the burst passes, each later interval exactly its share of the rate,
// and every packet over it is a counted drop of its direction.
#include <gtest/gtest.h>

#include <thread>

#include "pair_fixture.h"
#include "tundra/base/token_bucket.h"

namespace tundra {
namespace {

using testing::milliseconds;
using testing::PairTest;
using testing::Ping4;
using testing::WaitFor;

constexpr size_t kPacketBytes = 1000;  // IPv4 20 + ICMP 8 + 972 payload

class ShapingTest : public PairTest {
 protected:
  // Injects `n` distinct 1000-byte pings into A's TUN and returns how many B's TUN wrote
  // once A's and B's counters account for all of them (delivered, or dropped as shaped).
  size_t Send(size_t n, uint16_t first_seq) {
    b_.tun->TakeWritten();
    const uint64_t before = Shaped();
    for (size_t i = 0; i < n; ++i) {
      auto pkt = Ping4(a_.inner4, b_.inner4, uint16_t(first_seq + i), kPacketBytes - 28);
      EXPECT_EQ(pkt.size(), kPacketBytes);
      a_.tun->Inject(pkt);
    }
    size_t delivered = 0;
    WaitFor([&] {
      delivered += b_.tun->TakeWritten().size();
      return delivered + (Shaped() - before) >= n;
    });
    std::this_thread::sleep_for(milliseconds(50));  // nothing more arrives
    delivered += b_.tun->TakeWritten().size();
    return delivered;
  }
  uint64_t Shaped() const {
    return a_.dev->drops().Get(proto::DropReason::kShapedOut) +
           b_.dev->drops().Get(proto::DropReason::kShapedIn);
  }
};

TEST_F(ShapingTest, OutboundSpeedPassesTheBurstThenTheRate) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  // 80 kbit/s = 10000 bytes/s out of A to B, a 10000-byte bucket.
  Apply(a_, {"public_key=" + ToHex(b_.pub), "tundra_speed=0:80", "tundra_burst=10000"});
  EXPECT_EQ(Send(30, 100), 10u);  // the full bucket, at one instant
  EXPECT_EQ(a_.dev->drops().Get(proto::DropReason::kShapedOut), 20u);
  Advance(milliseconds(500));  // refills 5000 bytes
  EXPECT_EQ(Send(10, 200), 5u);
  const device::PeerStatus p = Peer(a_);
  EXPECT_EQ(p.counters.shaped_out, 25u);
  EXPECT_EQ(p.counters.shaped_in, 0u);
  EXPECT_GE(p.counters.dropped, 25u);
  EXPECT_EQ(p.shaping, (device::Shaping{{0, 80}, 10000}));
  EXPECT_EQ(b_.dev->drops().Get(proto::DropReason::kShapedIn), 0u);
  // Unlimited again: everything passes.
  Apply(a_, {"public_key=" + ToHex(b_.pub), "tundra_speed=0:0"});
  EXPECT_EQ(Send(30, 300), 30u);
}

TEST_F(ShapingTest, InboundSpeedDropsAfterDecryption) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  Apply(b_, {"public_key=" + ToHex(a_.pub), "tundra_speed=80:0", "tundra_burst=10000"});
  // A counts a message once its send returned, which can be after B wrote the packet out.
  ASSERT_TRUE(WaitFor([&] { return Peer(a_).counters.tx_packets >= 1; }));
  const uint64_t sent_before = Peer(a_).counters.tx_packets;
  EXPECT_EQ(Send(30, 100), 10u);
  EXPECT_EQ(Peer(a_).counters.tx_packets - sent_before, 30u);  // A sent them all
  EXPECT_EQ(b_.dev->drops().Get(proto::DropReason::kShapedIn), 20u);
  EXPECT_EQ(Peer(b_).counters.shaped_in, 20u);
  Advance(milliseconds(300));
  EXPECT_EQ(Send(10, 200), 3u);
  EXPECT_EQ(Peer(b_).counters.shaped_in, 27u);
  // A has no Speed of its own: nothing was shaped on the way out.
  EXPECT_EQ(a_.dev->drops().Get(proto::DropReason::kShapedOut), 0u);
}

TEST_F(ShapingTest, DefaultBurstIs200MillisecondsAtLeast64KiB) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  // 80 kbit/s: 200 ms would be 2000 bytes, so the 64 KiB floor holds: 65 packets of 1000.
  Apply(a_, {"public_key=" + ToHex(b_.pub), "tundra_speed=80"});
  static_assert(kDefaultBurstMinBytes / kPacketBytes == 65);
  EXPECT_EQ(Send(100, 100), 65u);
  EXPECT_EQ(Peer(a_).shaping, (device::Shaping{{80, 80}, 0}));
}

}  // namespace
}  // namespace tundra
