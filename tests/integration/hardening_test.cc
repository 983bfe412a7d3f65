// Regression tests for defects found in review (issue: hardening), on two in-process devices.
#include <gtest/gtest.h>

#include <mutex>

#include "pair_fixture.h"

namespace tundra {
namespace {

using testing::milliseconds;
using testing::PairTest;
using testing::Ping4;
using testing::seconds;
using testing::WaitFor;

// `wg set wg0 peer PUB_B ...` before any key, then `wg set wg0 private-key b.key`: the peer
// that now has our own public key is removed (wireguard-go does the same). The removal once
// went through a reference to the peer map's own shared_ptr and wrote into the freed Peer
// (an ASan/valgrind-only failure: the sanitizer build in CI runs this test).
TEST_F(PairTest, PrivateKeyOfAConfiguredPeerRemovesThatPeer) {
  Apply(a_,
        {"public_key=" + ToHex(b_.pub), "endpoint=198.18.0.2:51821", "allowed_ip=198.19.0.2/32"});
  ASSERT_EQ(a_.dev->GetStatus().peers.size(), 1u);
  Apply(a_, {"private_key=" + ToHex(b_.key.span())});
  auto st = a_.dev->GetStatus();
  EXPECT_TRUE(st.peers.empty());
  EXPECT_EQ(st.public_key, b_.pub);
}

// `wg setconf` with a file whose private key is that of a currently configured peer: the key
// is applied before replace_peers, so the peer is removed by the key change first.
TEST_F(PairTest, SetconfWithTheKeyOfAConfiguredPeer) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  Apply(a_,
        {"private_key=" + ToHex(b_.key.span()), "replace_peers=true", "public_key=" + ToHex(a_.pub),
         "endpoint=198.18.0.2:51821", "allowed_ip=198.19.0.2/32"});
  auto st = a_.dev->GetStatus();
  ASSERT_EQ(st.peers.size(), 1u);
  EXPECT_EQ(st.peers[0].public_key, a_.pub);
}

// A sustained inbound stream (here bad-tag data messages to a live receiver index, which
// anyone who sees the wire can send) must not hold the device's locks: a configuration write,
// a status read and outbound traffic each go through while it lasts. The udp thread once held
// config_mu_ for as long as its batches came back full, so the writer (and, behind the
// writer-preferring lock, every reader) waited for the whole flood.
TEST_F(PairTest, ConfigWriteIsNotStalledByAnInboundFlood) {
  std::vector<uint8_t> data;
  std::mutex mu;
  net_.set_filter([&](const transport::Endpoint&, const transport::Endpoint&, ByteSpan d) {
    std::lock_guard lock(mu);
    if (TypeOf(d) == 4 && d.size() > 32 && data.empty()) data.assign(d.begin(), d.end());
    return true;
  });
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  std::vector<uint8_t> forged;
  {
    std::lock_guard lock(mu);
    ASSERT_FALSE(data.empty());
    forged = data;
  }
  forged.back() ^= 1;  // the tag no longer verifies
  // A deep receive queue: while B's socket is paused the forgeries pile up, then B's udp
  // thread works through them in full batches.
  constexpr uint64_t kFlood = 300000;
  const auto from = *transport::Endpoint::Parse("198.18.7.7:4444");
  b_.bind->set_paused(true);
  for (uint64_t i = 0; i < kFlood; ++i) {
    StoreLe64(forged.data() + 8, 1000 + i);
    net_.Inject(from, b_.bind->local(), forged);
  }
  b_.bind->set_paused(false);
  ASSERT_TRUE(
      WaitFor([&] { return b_.dev->drops().Get(proto::DropReason::kInvalidAeadTag) > 1000; }));
  Apply(b_, {"public_key=" + ToHex(a_.pub), "persistent_keepalive_interval=0"});
  const size_t left_after_apply = b_.bind->queued();
  (void)b_.dev->GetStatus();
  const size_t left_after_status = b_.bind->queued();
  // Outbound traffic from B is not held up either (B's own inbound is behind the flood).
  EXPECT_TRUE(Ping(b_, a_, 2));
  // Without the fix the write, and the read behind it, wait until the queue is empty.
  EXPECT_GT(left_after_apply, 0u);
  EXPECT_GT(left_after_status, 0u);
  EXPECT_TRUE(
      WaitFor([&] { return b_.dev->drops().Get(proto::DropReason::kInvalidAeadTag) >= kFlood; },
              milliseconds(60000)));
}

// The route to a peer's endpoint leads back into the tunnel (allowed IPs 0.0.0.0/0 and no
// fwmark rule): each of our own datagrams to it comes out of the TUN again. Sealing it again
// would circle it at full speed; it is dropped and counted as routing_loop, while the same
// datagram from another port is ordinary traffic.
TEST_F(PairTest, OwnDatagramsRoutedIntoTheTunnelAreARoutingLoop) {
  StartBoth();
  Apply(a_, {"public_key=" + ToHex(b_.pub), "allowed_ip=0.0.0.0/0"});
  ASSERT_TRUE(Ping(a_, b_, 1));
  const std::vector<uint8_t> wg_data(48, 4);  // looks like a data message; content is moot
  const size_t sent_before = a_.bind->sent();
  a_.tun->Inject(testing::Udp4(a_.inner4, 51820, b_.underlay, 51821, wg_data));
  EXPECT_TRUE(WaitFor([&] { return a_.dev->drops().Get(proto::DropReason::kRoutingLoop) == 1; }));
  EXPECT_EQ(a_.bind->sent(), sent_before);
  // Not a loop: another source port, or our port to an address that is not the endpoint.
  b_.tun->TakeWritten();
  const auto other_port = testing::Udp4(a_.inner4, 40000, b_.underlay, 51821, wg_data);
  const auto other_dst = testing::Udp4(a_.inner4, 51820, "198.18.0.9", 51821, wg_data);
  a_.tun->Inject(other_port);
  a_.tun->Inject(other_dst);
  EXPECT_TRUE(b_.tun->WaitForWritten(2, milliseconds(5000)));
  EXPECT_EQ(a_.dev->drops().Get(proto::DropReason::kRoutingLoop), 1u);
}

}  // namespace
}  // namespace tundra
