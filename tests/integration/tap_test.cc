// TAP mode (docs/l2.md) on in-process devices over FakeTun (as TAPs) and FakeBind: frames are
// flooded once across a full mesh, learned MACs turn floods into unicast, a hub with
// Forward = yes relays spoke to spoke exactly once (as 0x21), AllowedMACs stops spoofed
// sources, frames of any ethertype arrive byte-exact, hub mode, MAC expiry, peer removal, the
// TUN/TAP mismatch drops, and compression carrying frames.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pair_fixture.h"
#include "tundra/l2/constants.h"
#include "tundra/l2/frame.h"

namespace tundra {
namespace {

using testing::milliseconds;
using testing::WaitFor;
using Frame = std::vector<uint8_t>;

constexpr uint64_t kMacBroadcast = 0xffffffffffff;
constexpr int kTapMtu = int(l2::TapMtuFor(proto::kDefaultMtu));  // 1399

uint64_t HostMac(int i) { return 0x525400000000ull + uint64_t(i); }

// dst, src, ethertype, then `payload` bytes (i * 7 + fill, or `fill` throughout).
Frame MakeFrame(uint64_t dst, uint64_t src, uint16_t ethertype, size_t payload, uint8_t fill,
                bool constant = false) {
  Frame f(l2::kEthernetHeaderSize + payload);
  l2::MacAddress::FromU64(dst).ToBytes(f.data());
  l2::MacAddress::FromU64(src).ToBytes(f.data() + 6);
  f[12] = uint8_t(ethertype >> 8);
  f[13] = uint8_t(ethertype);
  for (size_t i = 0; i < payload; ++i) f[14 + i] = constant ? fill : uint8_t(i * 7 + fill);
  return f;
}

struct Node {
  std::string name, underlay;
  uint16_t port = 0;
  crypto::PrivateKey key;
  crypto::PublicKey pub{};
  tun::FakeTun* tap = nullptr;
  std::unique_ptr<device::Device> dev;
  std::vector<Frame> seen;  // everything its TAP wrote so far (Collect)
};

class TapTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kError); }
  void TearDown() override {
    for (auto& n : nodes_) n->dev->Close();
  }

  Node& Make(const std::string& name, bool tap = true, l2::MacTableOptions table = {}) {
    auto n = std::make_unique<Node>();
    const int i = int(nodes_.size()) + 1;
    n->name = name;
    n->underlay = "198.18.0." + std::to_string(i);
    n->port = uint16_t(51820 + i);
    n->key = crypto::GeneratePrivateKey();
    n->pub = crypto::PublicFromPrivate(n->key);
    auto t = tun::FakeTun::Create("tap-" + name);
    EXPECT_TRUE(t.ok());
    n->tap = t->get();
    device::DeviceOptions opts;
    opts.name = name;
    opts.clock = &clock_;
    opts.tap = tap;
    opts.mtu = tap ? kTapMtu : int(proto::kDefaultMtu);
    opts.mac_table = table;
    n->dev = std::make_unique<device::Device>(
        std::move(*t), std::make_unique<transport::FakeBind>(net_, n->underlay), opts);
    nodes_.push_back(std::move(n));
    return *nodes_.back();
  }

  // `me` with `peers` (by endpoint; TUN-mode peers get an allowed IP each); `extra` UAPI lines
  // after each peer (e.g. compression). `tweak` may adjust the typed update before it applies.
  void Configure(Node& me, const std::vector<Node*>& peers, const std::string& extra = "",
                 std::function<void(device::DeviceUpdate&)> tweak = nullptr) {
    std::vector<std::string> lines = {"private_key=" + ToHex(me.key.span()),
                                      "listen_port=" + std::to_string(me.port),
                                      "replace_peers=true"};
    for (Node* p : peers) {
      lines.push_back("public_key=" + ToHex(p->pub));
      lines.push_back("endpoint=" + p->underlay + ":" + std::to_string(p->port));
      if (!me.dev->tap()) lines.push_back("allowed_ip=198.19.0." + p->underlay.substr(9) + "/32");
      if (!extra.empty()) lines.push_back(extra);
    }
    uapi::SetRequest req = uapi::ParseSet(lines);
    ASSERT_EQ(req.error, 0) << req.error_detail;
    if (tweak) tweak(req.update);
    Status st = me.dev->Apply(req.update);
    ASSERT_TRUE(st.ok()) << st.error().message();
  }

  void StartAll() {
    for (auto& n : nodes_) ASSERT_TRUE(n->dev->Start().ok());
  }

  static void Collect(Node& n) {
    for (auto& w : n.tap->TakeWritten()) n.seen.push_back(std::move(w));
  }
  static size_t Count(Node& n, const Frame& f) {
    Collect(n);
    return size_t(std::count(n.seen.begin(), n.seen.end(), f));
  }
  // Waits until `n`'s TAP wrote `f` (at least once).
  static bool Arrives(Node& n, const Frame& f) {
    return WaitFor([&] { return Count(n, f) >= 1; });
  }
  // Lets in-flight datagrams land (for "nothing else arrives" checks).
  static void Settle() { std::this_thread::sleep_for(milliseconds(200)); }

  static device::PeerStatus PeerOf(const Node& n, const Node& peer) {
    for (auto& p : n.dev->GetStatus().peers) {
      if (p.public_key == peer.pub) return p;
    }
    ADD_FAILURE() << n.name << " has no peer " << peer.name;
    return {};
  }
  static uint64_t L2Drop(const Node& n, l2::DropReason r) {
    return n.dev->GetL2DropCounters()[size_t(r)];
  }
  static uint64_t Counter(const Node& n, const std::string& name) {
    for (auto& [k, v] : n.dev->Counters()) {
      if (k == name) return v;
    }
    ADD_FAILURE() << n.name << " lists no counter " << name;
    return 0;
  }
  static std::string Drops(const Node& n) {
    std::string out = n.name + ":";
    for (auto& [k, v] : n.dev->Counters()) {
      if (v != 0 && k.starts_with("drop_")) out += " " + k + "=" + std::to_string(v);
    }
    return out;
  }

  // Data messages with a payload (not keepalives) sent from `from` to `to` since the start.
  uint64_t DataSent(const Node& from, const Node& to) {
    std::lock_guard lock(count_mu_);
    return data_sent_[{from.underlay, to.underlay}];
  }
  void CountDataMessages() {
    net_.set_filter(
        [this](const transport::Endpoint& from, const transport::Endpoint& to, ByteSpan d) {
          if (d.size() > proto::kDataOverhead && LoadLe32(d.data()) == 4) {
            std::lock_guard lock(count_mu_);
            const std::string f = from.ToString(), t = to.ToString();
            ++data_sent_[{f.substr(0, f.find(':')), t.substr(0, t.find(':'))}];
          }
          return true;
        });
  }

  FakeClock clock_;
  transport::FakeNetwork net_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::mutex count_mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> data_sent_;  // guarded by count_mu_
};

TEST_F(TapTest, FullMeshFloodsOnceThenLearnsUnicast) {
  CountDataMessages();
  Node& a = Make("a");
  Node& b = Make("b");
  Node& c = Make("c");
  Configure(a, {&b, &c});
  Configure(b, {&a, &c});
  Configure(c, {&a, &b});
  StartAll();

  // An ARP-sized broadcast from A's side reaches B and C exactly once, and not A's own TAP.
  const Frame bcast = MakeFrame(kMacBroadcast, HostMac(0xa), 0x0806, 28, 1);
  a.tap->Inject(bcast);
  ASSERT_TRUE(Arrives(b, bcast)) << Drops(a) << " | " << Drops(b);
  ASSERT_TRUE(Arrives(c, bcast)) << Drops(a) << " | " << Drops(c);
  Settle();
  EXPECT_EQ(Count(b, bcast), 1u);
  EXPECT_EQ(Count(c, bcast), 1u);
  EXPECT_EQ(Count(a, bcast), 0u);
  // B and C learned A's MAC behind their peer A.
  EXPECT_EQ(PeerOf(b, a).mac_entries, 1u);
  EXPECT_EQ(PeerOf(c, a).mac_entries, 1u);

  // B answers: unicast to A only (C's side sees nothing, and nothing was sent B -> C).
  const uint64_t b_to_c = DataSent(b, c), a_to_c = DataSent(a, c);
  const Frame reply = MakeFrame(HostMac(0xa), HostMac(0xb), 0x0806, 28, 2);
  b.tap->Inject(reply);
  ASSERT_TRUE(Arrives(a, reply)) << Drops(a) << " | " << Drops(b);
  EXPECT_EQ(PeerOf(a, b).mac_entries, 1u);
  // A now knows B: its unicast goes to B only.
  const Frame unicast = MakeFrame(HostMac(0xb), HostMac(0xa), 0x0800, 100, 3);
  a.tap->Inject(unicast);
  ASSERT_TRUE(Arrives(b, unicast)) << Drops(a) << " | " << Drops(b);
  Settle();
  EXPECT_EQ(Count(c, reply), 0u);
  EXPECT_EQ(Count(c, unicast), 0u);
  EXPECT_EQ(DataSent(b, c), b_to_c);
  EXPECT_EQ(DataSent(a, c), a_to_c);
  EXPECT_EQ(PeerOf(c, a).counters.dropped, 0u) << Drops(c);

  const device::DeviceStatus st = a.dev->GetStatus();
  EXPECT_TRUE(st.tap);
  EXPECT_EQ(st.switch_mode, l2::Mode::kSwitch);
  EXPECT_FALSE(st.forward);
  EXPECT_EQ(st.mac_capacity, l2::kDefaultMacTableSize);
  EXPECT_EQ(st.mac_expiry, Duration(l2::kDefaultMacExpiry));
  EXPECT_EQ(st.mac_stats.size, 2u);  // its own (on the TAP) and B's
  EXPECT_EQ(Counter(a, "mac_entries"), 2u);
  EXPECT_EQ(Counter(a, "mac_learned"), 2u);
  EXPECT_EQ(Counter(a, "drop_not_forwarding"), 0u);
}

TEST_F(TapTest, HubWithForwardRelaysOnceAndWithoutDoesNot) {
  // A star: H with spokes S1 and S2; S2 also forwards and has a spoke of its own, S3, which
  // only a second relay could reach (docs/l2.md: at most one relay).
  Node& h = Make("h");
  Node& s1 = Make("s1");
  Node& s2 = Make("s2");
  Node& s3 = Make("s3");
  auto forward = [](device::DeviceUpdate& u) { u.forward = true; };
  Configure(h, {&s1, &s2}, "", forward);
  Configure(s1, {&h});
  Configure(s2, {&h, &s3}, "", forward);
  Configure(s3, {&s2});
  StartAll();
  EXPECT_TRUE(h.dev->GetStatus().forward);

  const Frame bcast = MakeFrame(kMacBroadcast, HostMac(1), 0x0806, 28, 1);
  s1.tap->Inject(bcast);
  ASSERT_TRUE(Arrives(h, bcast)) << Drops(h);
  ASSERT_TRUE(Arrives(s2, bcast)) << Drops(h) << " | " << Drops(s2);
  Settle();
  EXPECT_EQ(Count(s2, bcast), 1u);
  // S2 got it as relayed (0x21): it does not relay it on to S3, though it forwards.
  EXPECT_EQ(Count(s3, bcast), 0u);
  EXPECT_EQ(PeerOf(s3, s2).counters.rx_packets, 0u);

  // S2 answers S1 (learned behind H): H relays the unicast to S1 only.
  const Frame reply = MakeFrame(HostMac(1), HostMac(2), 0x0806, 28, 2);
  s2.tap->Inject(reply);
  ASSERT_TRUE(Arrives(s1, reply)) << Drops(h) << " | " << Drops(s1);
  Settle();
  EXPECT_EQ(Count(h, reply), 0u);  // known unicast for S1: not H's TAP
  EXPECT_EQ(PeerOf(h, s1).mac_entries, 1u);
  EXPECT_EQ(PeerOf(h, s2).mac_entries, 1u);

  // Forward off at the hub: S1's next frame for S2 stops there, counted.
  device::DeviceUpdate off;
  off.forward = false;
  ASSERT_TRUE(h.dev->Apply(off).ok());
  const Frame again = MakeFrame(HostMac(2), HostMac(1), 0x0800, 64, 3);
  s1.tap->Inject(again);  // S1 learned S2's MAC behind H: unicast to H
  ASSERT_TRUE(WaitFor([&] { return L2Drop(h, l2::DropReason::kNotForwarding) == 1; })) << Drops(h);
  EXPECT_EQ(PeerOf(h, s1).l2_drops[size_t(l2::DropReason::kNotForwarding)], 1u);
  EXPECT_GE(PeerOf(h, s1).counters.dropped, 1u);
  EXPECT_EQ(Counter(h, "drop_not_forwarding"), 1u);
  // And a broadcast reaches H's TAP but not S2.
  const Frame bcast2 = MakeFrame(kMacBroadcast, HostMac(1), 0x0806, 28, 4);
  s1.tap->Inject(bcast2);
  ASSERT_TRUE(Arrives(h, bcast2));
  Settle();
  EXPECT_EQ(Count(s2, again), 0u);
  EXPECT_EQ(Count(s2, bcast2), 0u);
}

TEST_F(TapTest, AllowedMacsDropASpoofedSource) {
  Node& a = Make("a");
  Node& b = Make("b");
  Configure(a, {&b});
  Configure(b, {&a}, "", [](device::DeviceUpdate& u) {
    u.peers[0].replace_allowed_macs = true;
    u.peers[0].allowed_macs = {l2::MacPrefix{l2::MacAddress::FromU64(HostMac(0xa)), 48}};
  });
  StartAll();
  ASSERT_EQ(PeerOf(b, a).allowed_macs.size(), 1u);

  const Frame spoofed = MakeFrame(kMacBroadcast, HostMac(0x99), 0x0806, 28, 1);
  a.tap->Inject(spoofed);
  ASSERT_TRUE(WaitFor([&] { return L2Drop(b, l2::DropReason::kSourceNotAllowed) == 1; }))
      << Drops(a) << " | " << Drops(b);
  EXPECT_EQ(PeerOf(b, a).l2_drops[size_t(l2::DropReason::kSourceNotAllowed)], 1u);
  EXPECT_EQ(PeerOf(b, a).counters.dropped, 1u);
  EXPECT_EQ(b.dev->GetStatus().mac_stats.size, 0u);  // nothing learned from it
  EXPECT_EQ(Count(b, spoofed), 0u);

  const Frame good = MakeFrame(kMacBroadcast, HostMac(0xa), 0x0806, 28, 2);
  a.tap->Inject(good);
  ASSERT_TRUE(Arrives(b, good));
  EXPECT_EQ(PeerOf(b, a).mac_entries, 1u);

  // Accumulating: a second prefix (an OUI) is added to the list.
  device::DeviceUpdate more;
  device::PeerUpdate p;
  p.public_key = a.pub;
  p.allowed_macs = {l2::MacPrefix{l2::MacAddress::FromU64(0x020000000000), 24}};
  more.peers.push_back(p);
  ASSERT_TRUE(b.dev->Apply(more).ok());
  EXPECT_EQ(PeerOf(b, a).allowed_macs.size(), 2u);
  const Frame oui = MakeFrame(kMacBroadcast, 0x020000123456, 0x0806, 28, 3);
  a.tap->Inject(oui);
  ASSERT_TRUE(Arrives(b, oui));
  // Past kMaxAllowedMacs: refused, the list unchanged.
  device::DeviceUpdate many;
  p.allowed_macs.clear();
  for (size_t i = 0; i < l2::kMaxAllowedMacs; ++i) {
    p.allowed_macs.push_back(l2::MacPrefix{l2::MacAddress::FromU64(0x020000000000 + (i << 8)), 40});
  }
  many.peers.push_back(p);
  Status s = b.dev->Apply(many);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EINVAL);
  EXPECT_EQ(PeerOf(b, a).allowed_macs.size(), 2u);
}

TEST_F(TapTest, AnyEthertypeAndVlanTagsArriveByteExact) {
  Node& a = Make("a");
  Node& b = Make("b");
  Configure(a, {&b});
  Configure(b, {&a});
  StartAll();
  std::vector<Frame> frames;
  // A non-IP ethertype whose payload ends in zeros (what WireGuard's padding looks like).
  Frame local = MakeFrame(HostMac(0xb), HostMac(0xa), 0x88b5, 30, 5);
  std::fill(local.end() - 9, local.end(), 0);
  frames.push_back(local);
  // An 802.3/LLC frame (STP's multicast address, a length for the ethertype).
  frames.push_back(MakeFrame(0x0180c2000000, HostMac(0xa), 38, 38, 6));
  // 802.1Q, VID 100, IPv4 inside; and a QinQ frame.
  Frame vlan = MakeFrame(HostMac(0xb), HostMac(0xa), l2::kTpidVlan, 4 + 200, 7);
  vlan[14] = 0x00, vlan[15] = 0x64, vlan[16] = 0x08, vlan[17] = 0x00;
  frames.push_back(vlan);
  Frame qinq = MakeFrame(HostMac(0xb), HostMac(0xa), l2::kTpidQinQ, 8 + 100, 8);
  qinq[14] = 0x00, qinq[15] = 0x0a, qinq[16] = 0x81, qinq[17] = 0x00;
  qinq[18] = 0x00, qinq[19] = 0x14, qinq[20] = 0x86, qinq[21] = 0xdd;
  frames.push_back(qinq);
  // Full size at the TAP MTU: untagged and with one tag (the tunnel MTU's reserve).
  frames.push_back(MakeFrame(HostMac(0xb), HostMac(0xa), 0x0800, size_t(kTapMtu), 9));
  Frame full_vlan = MakeFrame(HostMac(0xb), HostMac(0xa), l2::kTpidVlan, 4 + size_t(kTapMtu), 10);
  full_vlan[16] = 0x08, full_vlan[17] = 0x00;
  frames.push_back(full_vlan);
  for (const Frame& f : frames) {
    a.tap->Inject(f);
    ASSERT_TRUE(Arrives(b, f)) << "frame of " << f.size() << " bytes; " << Drops(a) << " | "
                               << Drops(b);
  }
  Settle();
  for (const Frame& f : frames) EXPECT_EQ(Count(b, f), 1u);
  EXPECT_EQ(PeerOf(b, a).counters.dropped, 0u) << Drops(b);

  // One byte over the largest frame (MTU + 14 + 2 tags) is refused at A's TAP, counted.
  a.tap->Inject(MakeFrame(HostMac(0xb), HostMac(0xa), 0x0800,
                          l2::MaxFrameSizeFor(size_t(kTapMtu)) - 14 + 1, 11));
  ASSERT_TRUE(WaitFor([&] { return L2Drop(a, l2::DropReason::kFrameTooLong) == 1; }));
  // A lower MTU lowers the bound (ip link set mtu).
  a.dev->SetMtu(1000);
  a.tap->Inject(MakeFrame(HostMac(0xb), HostMac(0xa), 0x0800, 1100, 12));
  ASSERT_TRUE(WaitFor([&] { return L2Drop(a, l2::DropReason::kFrameTooLong) == 2; }));
}

TEST_F(TapTest, HubModeFloodsKnownUnicast) {
  // A in the middle, in hub mode; B and C peer only with A (so C never learns B's MAC and
  // takes what A floods to it onto its TAP, as a hub's segment would).
  Node& a = Make("a");
  Node& b = Make("b");
  Node& c = Make("c");
  Configure(a, {&b, &c}, "", [](device::DeviceUpdate& u) { u.switch_mode = l2::Mode::kHub; });
  Configure(b, {&a});
  Configure(c, {&a});
  StartAll();
  EXPECT_EQ(a.dev->GetStatus().switch_mode, l2::Mode::kHub);
  const Frame hello = MakeFrame(kMacBroadcast, HostMac(0xb), 0x0806, 28, 1);
  b.tap->Inject(hello);
  ASSERT_TRUE(Arrives(a, hello));
  Settle();
  EXPECT_EQ(Count(c, hello), 0u);                    // Forward = no: not relayed to C
  EXPECT_EQ(a.dev->GetStatus().mac_stats.size, 0u);  // a hub learns nothing
  // A unicast for B floods from A's hub to B and C alike.
  const Frame unicast = MakeFrame(HostMac(0xb), HostMac(0xa), 0x0800, 60, 2);
  a.tap->Inject(unicast);
  ASSERT_TRUE(Arrives(b, unicast));
  ASSERT_TRUE(Arrives(c, unicast)) << Drops(a) << " | " << Drops(c);
}

TEST_F(TapTest, ExpiredMacFloodsAgain) {
  // B in the middle (Forward = no) with A and C, which do not peer: C never learns A's MAC.
  CountDataMessages();
  Node& a = Make("a");
  l2::MacTableOptions fast;
  fast.expiry = l2::kMinMacExpiry;
  Node& b = Make("b", true, fast);
  Node& c = Make("c");
  Configure(a, {&b});
  Configure(b, {&a, &c});
  Configure(c, {&b});
  StartAll();
  const Frame bcast = MakeFrame(kMacBroadcast, HostMac(0xa), 0x0806, 28, 1);
  a.tap->Inject(bcast);
  ASSERT_TRUE(Arrives(b, bcast));
  // While learned, B's unicast for A goes to A only.
  const Frame first = MakeFrame(HostMac(0xa), HostMac(0xb), 0x0800, 60, 2);
  b.tap->Inject(first);
  ASSERT_TRUE(Arrives(a, first));
  Settle();
  EXPECT_EQ(Count(c, first), 0u);
  EXPECT_EQ(DataSent(b, c), 0u);
  // MACExpiry passes: B's control thread forgets A's MAC (and its own), the next unicast floods.
  clock_.Advance(l2::kMinMacExpiry + std::chrono::seconds(2));
  b.dev->PokeTimers();
  ASSERT_TRUE(WaitFor([&] { return b.dev->GetStatus().mac_stats.size == 0; }))
      << b.dev->GetStatus().mac_stats.size;
  EXPECT_GE(b.dev->GetStatus().mac_stats.expired, 2u);
  EXPECT_EQ(PeerOf(b, a).mac_entries, 0u);
  const Frame second = MakeFrame(HostMac(0xa), HostMac(0xb), 0x0800, 60, 3);
  b.tap->Inject(second);
  ASSERT_TRUE(Arrives(a, second));
  ASSERT_TRUE(Arrives(c, second)) << Drops(b) << " | " << Drops(c);
}

TEST_F(TapTest, RemovingAPeerForgetsItsMacs) {
  Node& a = Make("a");
  Node& b = Make("b");
  Configure(a, {&b});
  Configure(b, {&a});
  StartAll();
  for (int i = 0; i < 3; ++i) {
    const Frame f = MakeFrame(kMacBroadcast, HostMac(0xb0 + i), 0x0806, 28, uint8_t(i));
    b.tap->Inject(f);
    ASSERT_TRUE(Arrives(a, f));
  }
  EXPECT_EQ(PeerOf(a, b).mac_entries, 3u);
  device::DeviceUpdate u;
  device::PeerUpdate p;
  p.public_key = b.pub;
  p.remove = true;
  u.peers.push_back(p);
  ASSERT_TRUE(a.dev->Apply(u).ok());
  const device::DeviceStatus st = a.dev->GetStatus();
  EXPECT_EQ(st.mac_stats.size, 0u);
  EXPECT_EQ(st.mac_stats.removed, 3u);
  EXPECT_EQ(Counter(a, "mac_removed"), 3u);
}

TEST_F(TapTest, TunAndTapModeMismatchIsCountedBothWays) {
  Node& tap = Make("tap");
  Node& tun = Make("tun", /*tap=*/false);
  Configure(tap, {&tun});
  Configure(tun, {&tap});
  StartAll();
  // A frame from the TAP side: the TUN-mode device drops it as frame_on_tun, not invalid.
  tap.tap->Inject(MakeFrame(kMacBroadcast, HostMac(1), 0x0806, 28, 1));
  ASSERT_TRUE(WaitFor([&] { return L2Drop(tun, l2::DropReason::kFrameOnTun) == 1; }))
      << Drops(tap) << " | " << Drops(tun);
  EXPECT_EQ(PeerOf(tun, tap).l2_drops[size_t(l2::DropReason::kFrameOnTun)], 1u);
  EXPECT_EQ(PeerOf(tun, tap).counters.dropped, 1u);
  EXPECT_EQ(Counter(tun, "drop_frame_on_tun"), 1u);
  EXPECT_EQ(tun.dev->GetDropCounters()[size_t(proto::DropReason::kInvalidPacket)], 0u);
  EXPECT_TRUE(tun.tap->TakeWritten().empty());
  // An IP packet from the TUN side: the TAP-mode device drops it as ip_on_tap.
  tun.tap->Inject(testing::Ping4("198.19.0.2", "198.19.0.1", 1));
  ASSERT_TRUE(WaitFor([&] { return L2Drop(tap, l2::DropReason::kIpOnTap) == 1; }))
      << Drops(tap) << " | " << Drops(tun);
  EXPECT_EQ(PeerOf(tap, tun).l2_drops[size_t(l2::DropReason::kIpOnTap)], 1u);
  EXPECT_EQ(Counter(tap, "drop_ip_on_tap"), 1u);
  EXPECT_TRUE(tap.tap->TakeWritten().empty());

  // TAP-mode settings on a TUN-mode device are refused, naming what.
  device::DeviceUpdate sw;
  sw.forward = true;
  Status s = tun.dev->Apply(sw);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EINVAL);
  EXPECT_NE(s.error().message().find("TAP-mode"), std::string::npos) << s.error().message();
  device::DeviceUpdate macs;
  device::PeerUpdate p;
  p.public_key = tap.pub;
  p.allowed_macs = {l2::MacPrefix{l2::MacAddress::FromU64(HostMac(1)), 48}};
  macs.peers.push_back(p);
  s = tun.dev->Apply(macs);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EINVAL);
  EXPECT_TRUE(PeerOf(tun, tap).allowed_macs.empty());
  // And allowed IPs on a TAP-mode device (they would filter nothing there).
  device::DeviceUpdate ips;
  device::PeerUpdate q;
  q.public_key = tun.pub;
  q.allowed_ips.push_back({*routing::IpPrefix::Parse("198.19.0.2/32"), false});
  ips.peers.push_back(q);
  s = tap.dev->Apply(ips);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EINVAL);
  EXPECT_NE(s.error().message().find("allowed_ip"), std::string::npos) << s.error().message();
  EXPECT_TRUE(PeerOf(tap, tun).allowed_ips.empty());
}

// The threads at once (for ThreadSanitizer): spokes and the hub's own TAP send while the hub
// relays, and a configuring thread toggles Forward, replaces AllowedMACs and reads the status.
TEST_F(TapTest, TrafficWhileReconfiguring) {
  Node& h = Make("h");
  Node& s1 = Make("s1");
  Node& s2 = Make("s2");
  Configure(h, {&s1, &s2}, "", [](device::DeviceUpdate& u) { u.forward = true; });
  Configure(s1, {&h});
  Configure(s2, {&h});
  StartAll();
  const Frame warm = MakeFrame(kMacBroadcast, HostMac(1), 0x0806, 28, 0);
  s1.tap->Inject(warm);
  ASSERT_TRUE(Arrives(h, warm));
  std::atomic<bool> done{false};
  std::thread config([&] {
    bool forward = false;
    while (!done.load()) {
      device::DeviceUpdate u;
      u.forward = forward = !forward;
      device::PeerUpdate p;
      p.public_key = s1.pub;
      p.replace_allowed_macs = true;
      p.allowed_macs = {l2::MacPrefix{l2::MacAddress::FromU64(0), 0}};  // any
      u.peers.push_back(p);
      EXPECT_TRUE(h.dev->Apply(u).ok());
      (void)h.dev->GetStatus();
      (void)h.dev->Counters();
      std::this_thread::sleep_for(milliseconds(1));
    }
  });
  constexpr int kFrames = 200;
  std::vector<Frame> from_s1;
  for (int i = 0; i < kFrames; ++i) {
    from_s1.push_back(MakeFrame(kMacBroadcast, HostMac(1), 0x88b5, 64, uint8_t(i)));
    from_s1.back()[20] = uint8_t(i >> 8);  // all distinct
    s1.tap->Inject(from_s1.back());
    s2.tap->Inject(MakeFrame(HostMac(1), HostMac(2), 0x88b5, 64, uint8_t(i)));
    h.tap->Inject(MakeFrame(kMacBroadcast, HostMac(3), 0x88b5, 64, uint8_t(i)));
    if (i % 20 == 19) std::this_thread::sleep_for(milliseconds(5));
  }
  // The hub's TAP takes every broadcast from S1, whatever Forward is at the moment.
  const bool all = WaitFor([&] {
    Collect(h);
    return std::all_of(from_s1.begin(), from_s1.end(), [&](const Frame& f) {
      return std::count(h.seen.begin(), h.seen.end(), f) == 1;
    });
  });
  done = true;
  config.join();
  EXPECT_TRUE(all) << Drops(h) << " | " << Drops(s1);
  EXPECT_EQ(PeerOf(h, s1).counters.dropped, 0u) << Drops(h);
}

TEST_F(TapTest, FrameWithNoPeerIsCounted) {
  Node& a = Make("a");
  Configure(a, {});
  StartAll();
  a.tap->Inject(MakeFrame(kMacBroadcast, HostMac(1), 0x0806, 28, 1));
  ASSERT_TRUE(
      WaitFor([&] { return a.dev->GetDropCounters()[size_t(proto::DropReason::kNoRoute)] == 1; }));
}

TEST_F(TapTest, CompressionCarriesFrames) {
  Node& a = Make("a");
  Node& b = Make("b");
  Configure(a, {&b}, "tundra_compression=lz4");
  Configure(b, {&a}, "tundra_compression=lz4");
  StartAll();
  const Frame first = MakeFrame(kMacBroadcast, HostMac(0xa), 0x0806, 28, 1);
  a.tap->Inject(first);
  ASSERT_TRUE(Arrives(b, first)) << Drops(a) << " | " << Drops(b);
  ASSERT_TRUE(WaitFor([&] { return PeerOf(a, b).compression_active; }));
  // A compressible full-size frame and an incompressible one, both byte-exact.
  const Frame text = MakeFrame(HostMac(0xb), HostMac(0xa), 0x0800, size_t(kTapMtu), 'x', true);
  const Frame noise = MakeFrame(HostMac(0xb), HostMac(0xa), 0x0800, 600, 13);
  a.tap->Inject(text);
  ASSERT_TRUE(Arrives(b, text)) << Drops(a) << " | " << Drops(b);
  a.tap->Inject(noise);
  ASSERT_TRUE(Arrives(b, noise)) << Drops(a) << " | " << Drops(b);
  const device::PeerStatus sent = PeerOf(a, b), got = PeerOf(b, a);
  EXPECT_GE(sent.counters.compress_tx_compressed, 1u);
  EXPECT_GE(got.counters.compress_rx_packets, 1u);
  EXPECT_LT(got.counters.compress_rx_before, got.counters.compress_rx_after);
  EXPECT_EQ(got.counters.dropped, 0u) << Drops(b);
}

}  // namespace
}  // namespace tundra
