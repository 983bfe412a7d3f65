// Regression tests for defects found in review (issue: hardening), on two in-process devices.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>

#include "pair_fixture.h"
#include "tundra/crypto/secret.h"
#include "tundra/crypto/x25519.h"

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
  std::vector<uint8_t> forged = StartAndCaptureDataMessage();
  ASSERT_FALSE(forged.empty());
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

// kill -9 of B and a restart with the same configuration, and then only A sends: A's data
// comes under a receiver index B no longer knows. B initiates at once because it comes from
// A's configured endpoint and B has no session with A; before, nothing happened until A's
// KEEPALIVE + REKEY_TIMEOUT (15 s, which this fake clock never reaches) ran out.
TEST_F(PairTest, RestartedSideInitiatesOnTheSurvivorsData) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  Restart(b_);
  Apply(b_, Config(b_, a_));
  ASSERT_TRUE(b_.dev->Start().ok());
  const uint64_t a_rx = Peer(a_).rx_bytes;
  a_.tun->Inject(Ping4(a_.inner4, b_.inner4, 2));  // under the old session: lost
  ASSERT_TRUE(WaitFor([&] { return b_.dev->unknown_index_initiations() == 1; })) << DropSummary(b_);
  // A has B's initiation and the keepalive that confirms the new session.
  ASSERT_TRUE(WaitFor(
      [&] { return Peer(a_).rx_bytes >= a_rx + proto::kInitiationSize + proto::kDataMinSize; }));
  EXPECT_TRUE(Ping(a_, b_, 3));
  EXPECT_TRUE(Ping(b_, a_, 4));
  EXPECT_EQ(b_.dev->unknown_index_initiations(), 1u);
}

// What may not start a handshake: data under an unknown index from an address that is no
// peer's configured endpoint; from the endpoint of a peer that has a session (a stale packet);
// and more than one per REKEY_TIMEOUT (what a spoofed flood gets: one initiation to the
// configured endpoint).
TEST_F(PairTest, UnknownIndexInitiatesOnlyFromAConfiguredEndpointWithoutSession) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  std::vector<uint8_t> data(proto::kDataMinSize, 0);
  StoreLe32(data.data(), uint32_t(proto::MessageType::kData));
  StoreLe32(data.data() + 4, 0xdeadbeef);  // no such index
  const auto a_endpoint = *transport::Endpoint::Parse("198.18.0.1:51820");
  const auto stranger = *transport::Endpoint::Parse("198.18.7.7:51820");
  net_.Inject(a_endpoint, b_.bind->local(), data);  // B has a session with A
  ASSERT_TRUE(WaitFor([&] { return b_.dev->drops().Get(proto::DropReason::kUnknownIndex) == 1; }));
  EXPECT_EQ(b_.dev->unknown_index_initiations(), 0u);

  Restart(b_);
  Apply(b_, Config(b_, a_));
  ASSERT_TRUE(b_.dev->Start().ok());
  // B's initiations never reach A: the session cannot come back and reset the limit.
  net_.set_filter([](const transport::Endpoint&, const transport::Endpoint& to, ByteSpan) {
    return to.port() != 51820;
  });
  net_.Inject(stranger, b_.bind->local(), data);
  ASSERT_TRUE(WaitFor([&] { return b_.dev->drops().Get(proto::DropReason::kUnknownIndex) == 1; }));
  EXPECT_EQ(b_.dev->unknown_index_initiations(), 0u);
  for (int i = 0; i < 100; ++i) net_.Inject(a_endpoint, b_.bind->local(), data);
  ASSERT_TRUE(
      WaitFor([&] { return b_.dev->drops().Get(proto::DropReason::kUnknownIndex) == 101; }));
  EXPECT_EQ(b_.dev->unknown_index_initiations(), 1u);
}

// Buffer exhaustion is a counted drop: a send the socket or device queue has no room for
// (ENOBUFS) is send_buffer_full, apart from other send failures; datagrams the kernel dropped
// for our full receive buffer, or truncated, are counted as B's own drops. (Staged-queue and
// handshake-queue overflow: StagedQueueKeepsTheNewest128, CookieReplyThenMac2Handshake.)
TEST_F(PairTest, FullBuffersAreCountedDrops) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  a_.bind->set_send_errno(ENOBUFS);
  for (uint16_t seq = 2; seq < 5; ++seq) a_.tun->Inject(Ping4(a_.inner4, b_.inner4, seq));
  EXPECT_TRUE(WaitFor([&] { return a_.dev->drops().Get(proto::DropReason::kSendBufferFull) == 3; }))
      << DropSummary(a_);
  a_.bind->set_send_errno(EPERM);  // e.g. a firewall: not a full buffer
  a_.tun->Inject(Ping4(a_.inner4, b_.inner4, 5));
  EXPECT_TRUE(WaitFor([&] { return a_.dev->drops().Get(proto::DropReason::kSendFailed) == 1; }));
  EXPECT_EQ(a_.dev->drops().Get(proto::DropReason::kSendBufferFull), 3u);
  a_.bind->set_send_errno(0);

  b_.bind->set_receive_losses({.buffer_full = 7, .truncated = 2});
  ASSERT_TRUE(Ping(a_, b_, 6));
  EXPECT_TRUE(WaitFor([&] {
    return b_.dev->drops().Get(proto::DropReason::kReceiveBufferFull) == 7;
  })) << DropSummary(b_);
  EXPECT_EQ(b_.dev->drops().Get(proto::DropReason::kTruncated), 2u);
  const auto counters = b_.dev->Counters();
  EXPECT_NE(std::find(counters.begin(), counters.end(),
                      std::pair<std::string, uint64_t>("drop_receive_buffer_full", 7)),
            counters.end());
}

// B with a handshake queue of 8: one queued message already means "under load".
class SmallHandshakeQueueTest : public PairTest {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kError);
    Init(a_, "a", "198.18.0.1", "198.19.0.1", "fd19::1", 51820);
    Init(b_, "b", "198.18.0.2", "198.19.0.2", "fd19::2", 51821, /*max_queued_handshakes=*/8);
  }
};

// A burst of initiation-sized datagrams the bounded handshake queue cannot hold: what does
// not fit is handshake_queue_full, the rest invalid_mac1 - every one counted. And a cookie
// reply that cannot leave (ENOBUFS) is counted as send_buffer_full.
TEST_F(SmallHandshakeQueueTest, HandshakeQueueOverflowAndLostCookieRepliesAreCounted) {
  StartBoth();
  constexpr uint64_t kBurst = 5000;
  std::vector<uint8_t> junk(proto::kInitiationSize, 0x5a);
  StoreLe32(junk.data(), uint32_t(proto::MessageType::kInitiation));
  const auto from = *transport::Endpoint::Parse("198.18.7.7:4444");
  b_.bind->set_paused(true);  // they pile up, then the udp thread enqueues them at full speed
  for (uint64_t i = 0; i < kBurst; ++i) net_.Inject(from, b_.bind->local(), junk);
  b_.bind->set_paused(false);
  auto counted = [&] {
    return b_.dev->drops().Get(proto::DropReason::kHandshakeQueueFull) +
           b_.dev->drops().Get(proto::DropReason::kInvalidMac1);
  };
  ASSERT_TRUE(WaitFor([&] { return counted() == kBurst; }, milliseconds(30000))) << DropSummary(b_);
  EXPECT_GT(b_.dev->drops().Get(proto::DropReason::kHandshakeQueueFull), 0u);

  b_.bind->set_send_errno(ENOBUFS);
  a_.tun->Inject(Ping4(a_.inner4, b_.inner4, 1));  // A's initiation: B answers with a cookie
  EXPECT_TRUE(WaitFor([&] { return b_.dev->drops().Get(proto::DropReason::kSendBufferFull) == 1; }))
      << DropSummary(b_);
  EXPECT_EQ(b_.dev->drops().Get(proto::DropReason::kCookieSent), 1u);
}

}  // namespace
}  // namespace tundra

namespace tundra {
namespace {

// Not in sanitizer builds: their shadow memory (terabytes of anonymous mappings) cannot be
// scanned. The plain build, which `make test` runs, has it.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// Where the 32 bytes of `needle` occur in this process's anonymous memory (heap, stacks,
// mmap'd arenas; file mappings cannot hold a key we never wrote to a file), each with whether
// its mapping is marked do-not-dump ("dd" in /proc/self/smaps VmFlags). Read in place, not
// copied, so the scan itself leaves no copy behind.
struct Hit {
  const void* at;
  bool dont_dump;
};
std::vector<Hit> FindInAnonymousMemory(const uint8_t* needle, size_t n, const void* skip) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  struct Range {
    uintptr_t lo, hi;
    bool readable, anonymous, dont_dump;
  };
  std::vector<Range> ranges;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    char perms[5] = {};
    unsigned long long offset = 0, inode = 0;
    char dev[16] = {};
    int consumed = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %4s %llx %15s %llu %n", &lo, &hi, perms, &offset, dev,
                    &inode, &consumed) >= 6) {
      const std::string name = line.substr(size_t(consumed));
      ranges.push_back(
          {lo, hi, perms[0] == 'r', inode == 0 && name.find("[v") == std::string::npos, false});
    } else if (line.rfind("VmFlags:", 0) == 0 && !ranges.empty()) {
      ranges.back().dont_dump = line.find(" dd") != std::string::npos;
    }
  }
  std::vector<Hit> hits;
  for (const Range& r : ranges) {
    if (!r.readable || !r.anonymous) continue;
    const auto* p = reinterpret_cast<const uint8_t*>(r.lo);
    const auto* end = reinterpret_cast<const uint8_t*>(r.hi);
    while (p < end) {
      const void* found = ::memmem(p, size_t(end - p), needle, n);
      if (found == nullptr) break;
      if (found != skip) hits.push_back({found, r.dont_dump});
      p = static_cast<const uint8_t*>(found) + 1;
    }
  }
  return hits;
}

// The device's static private key lives only in do-not-dump memory (docs/security.md,
// "Secrets"): a core dump, were one written despite RLIMIT_CORE 0 and PR_SET_DUMPABLE 0,
// would not hold it. Before, it sat inside the Device object on the ordinary heap.
TEST_F(PairTest, TheStaticPrivateKeyIsOnlyInMemoryKeptOutOfCoreDumps) {
  auto* key = new crypto::PrivateKey(crypto::GeneratePrivateKey());
  {
    device::DeviceUpdate u;
    u.private_key = *key;
    ASSERT_TRUE(a_.dev->Apply(u).ok());
    u.private_key->Wipe();
  }
  // The needle: the key's bytes, inverted, so that only this buffer holds them as they are
  // searched for (turned back in place just before the scan, skipped by it).
  std::array<uint8_t, crypto::kKeySize> needle;
  for (size_t i = 0; i < needle.size(); ++i) needle[i] = uint8_t(~key->data()[i]);
  key->Wipe();
  delete key;
  for (uint8_t& b : needle) b = uint8_t(~b);
  const std::vector<Hit> hits = FindInAnonymousMemory(needle.data(), needle.size(), needle.data());
  SecureZero(needle.data(), needle.size());
  ASSERT_FALSE(hits.empty()) << "the key is nowhere: the scan does not work";
  for (const Hit& h : hits) EXPECT_TRUE(h.dont_dump) << "a copy of the key at " << h.at;
}
#endif

}  // namespace
}  // namespace tundra
