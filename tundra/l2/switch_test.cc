#include "tundra/l2/switch.h"

#include <gtest/gtest.h>

#include <vector>

namespace tundra::l2 {
namespace {

const TimePoint kNow = TimePoint(std::chrono::seconds(5000));

// Hosts: A behind the local TAP, B behind peer 1, C behind peer 2, D unknown.
constexpr uint64_t kA = 0x02000000000a, kB = 0x02000000000b, kC = 0x02000000000c,
                   kD = 0x02000000000d;
constexpr uint64_t kBcast = 0xffffffffffff, kMcast = 0x333300000001, kZero = 0;
constexpr PeerKey kP1 = 1, kP2 = 2;

std::vector<uint8_t> Eth(uint64_t dst, uint64_t src, size_t size = 60) {
  std::vector<uint8_t> f(size, 0);
  if (size >= 12) {
    MacAddress::FromU64(dst).ToBytes(f.data());
    MacAddress::FromU64(src).ToBytes(f.data() + 6);
  }
  if (size >= 14) StoreBe16(f.data() + 12, 0x0800);
  return f;
}

// Teaches `s` A on the TAP, B on peer 1 and C on peer 2.
void LearnABC(Switch& s) {
  ASSERT_EQ(s.table().Learn(MacAddress::FromU64(kA), Port::Tap(), kNow), LearnResult::kLearned);
  ASSERT_EQ(s.table().Learn(MacAddress::FromU64(kB), Port::Peer(kP1), kNow), LearnResult::kLearned);
  ASSERT_EQ(s.table().Learn(MacAddress::FromU64(kC), Port::Peer(kP2), kNow), LearnResult::kLearned);
}

SwitchOptions Options(Mode mode, bool forward) {
  return SwitchOptions{mode, forward, MaxFrameSizeFor(1500),
                       MacTableOptions{64, std::chrono::seconds(600), 7}};
}

using D = Decision;
const Ingress kTap = Ingress::Tap();
const Ingress kFromP1 = Ingress::Peer(kP1);
const Ingress kRelayedFromP1 = Ingress::Peer(kP1, /*relayed=*/true);

TEST(SwitchTest, DecisionTable) {
  AllowedMacs only_b;
  ASSERT_TRUE(only_b.AddList("02:00:00:00:00:0b").has_value());
  AllowedMacs oui;
  ASSERT_TRUE(oui.AddList("02:00:00:00:00:00/40").has_value());
  struct Case {
    const char* name;
    Mode mode;
    bool forward;
    Ingress in;
    std::vector<uint8_t> frame;
    const AllowedMacs* allowed;
    Decision want;
  } cases[] = {
      // ---- switch mode, from the local TAP
      {"tap: known unicast to peer", Mode::kSwitch, false, kTap, Eth(kB, kA), nullptr,
       D::Unicast(kP1, false)},
      {"tap: known unicast to peer 2", Mode::kSwitch, true, kTap, Eth(kC, kA), nullptr,
       D::Unicast(kP2, false)},
      {"tap: unknown unicast floods peers", Mode::kSwitch, false, kTap, Eth(kD, kA), nullptr,
       D::FloodFromTap()},
      {"tap: broadcast floods peers", Mode::kSwitch, false, kTap, Eth(kBcast, kA), nullptr,
       D::FloodFromTap()},
      {"tap: multicast floods peers", Mode::kSwitch, true, kTap, Eth(kMcast, kA), nullptr,
       D::FloodFromTap()},
      {"tap: to a local MAC (loop to ingress)", Mode::kSwitch, false, kTap, Eth(kA, kD), nullptr,
       D::Drop(DropReason::kToIngress)},
      {"tap: AllowedMACs do not apply", Mode::kSwitch, false, kTap, Eth(kB, kA), &only_b,
       D::Unicast(kP1, false)},
      // ---- switch mode, from peer 1, Forward = no
      {"peer: to a local MAC", Mode::kSwitch, false, kFromP1, Eth(kA, kB), nullptr, D::ToTap()},
      {"peer: unknown unicast to the TAP only", Mode::kSwitch, false, kFromP1, Eth(kD, kB), nullptr,
       D::ToTap()},
      {"peer: broadcast to the TAP only", Mode::kSwitch, false, kFromP1, Eth(kBcast, kB), nullptr,
       D::ToTap()},
      {"peer: multicast to the TAP only", Mode::kSwitch, false, kFromP1, Eth(kMcast, kB), nullptr,
       D::ToTap()},
      {"peer: to another peer, Forward = no", Mode::kSwitch, false, kFromP1, Eth(kC, kB), nullptr,
       D::Drop(DropReason::kNotForwarding)},
      {"peer: back to its own side", Mode::kSwitch, false, kFromP1, Eth(kB, kD), nullptr,
       D::Drop(DropReason::kToIngress)},
      // ---- switch mode, from peer 1, Forward = yes
      {"fwd: to another peer, relayed", Mode::kSwitch, true, kFromP1, Eth(kC, kB), nullptr,
       D::Unicast(kP2, true)},
      {"fwd: to a local MAC", Mode::kSwitch, true, kFromP1, Eth(kA, kB), nullptr, D::ToTap()},
      {"fwd: broadcast to the TAP and the other peers", Mode::kSwitch, true, kFromP1,
       Eth(kBcast, kB), nullptr, D::FloodFromPeer(kP1)},
      {"fwd: unknown unicast to the TAP and the other peers", Mode::kSwitch, true, kFromP1,
       Eth(kD, kB), nullptr, D::FloodFromPeer(kP1)},
      {"fwd: back to its own side", Mode::kSwitch, true, kFromP1, Eth(kB, kA), nullptr,
       D::Drop(DropReason::kToIngress)},
      // ---- a relayed frame (0x21) is never relayed again
      {"relayed: broadcast to the TAP only", Mode::kSwitch, true, kRelayedFromP1, Eth(kBcast, kB),
       nullptr, D::ToTap()},
      {"relayed: unknown unicast to the TAP only", Mode::kSwitch, true, kRelayedFromP1, Eth(kD, kB),
       nullptr, D::ToTap()},
      {"relayed: to another peer", Mode::kSwitch, true, kRelayedFromP1, Eth(kC, kB), nullptr,
       D::Drop(DropReason::kAlreadyRelayed)},
      {"relayed: to a local MAC", Mode::kSwitch, true, kRelayedFromP1, Eth(kA, kB), nullptr,
       D::ToTap()},
      // ---- source checks
      {"AllowedMACs: allowed source", Mode::kSwitch, false, kFromP1, Eth(kA, kB), &only_b,
       D::ToTap()},
      {"AllowedMACs: spoofed source", Mode::kSwitch, false, kFromP1, Eth(kA, kC), &only_b,
       D::Drop(DropReason::kSourceNotAllowed)},
      {"AllowedMACs: prefix", Mode::kSwitch, false, kFromP1, Eth(kA, kD), &oui, D::ToTap()},
      {"AllowedMACs: outside the prefix", Mode::kSwitch, false, kFromP1, Eth(kA, 0x520000000001),
       &oui, D::Drop(DropReason::kSourceNotAllowed)},
      {"AllowedMACs: hub mode checks too", Mode::kHub, true, kFromP1, Eth(kBcast, kC), &only_b,
       D::Drop(DropReason::kSourceNotAllowed)},
      {"zero source", Mode::kSwitch, false, kFromP1, Eth(kA, kZero), nullptr,
       D::Drop(DropReason::kInvalidSource)},
      {"broadcast source", Mode::kSwitch, false, kTap, Eth(kB, kBcast), nullptr,
       D::Drop(DropReason::kInvalidSource)},
      {"multicast source", Mode::kHub, false, kFromP1, Eth(kA, kMcast), nullptr,
       D::Drop(DropReason::kInvalidSource)},
      // ---- framing
      {"13-byte frame", Mode::kSwitch, false, kTap, Eth(kB, kA, 13), nullptr,
       D::Drop(DropReason::kFrameTooShort)},
      {"empty frame", Mode::kHub, false, kFromP1, {}, nullptr, D::Drop(DropReason::kFrameTooShort)},
      {"14-byte frame", Mode::kSwitch, false, kTap, Eth(kB, kA, 14), nullptr,
       D::Unicast(kP1, false)},
      {"over the interface bound", Mode::kSwitch, false, kTap, Eth(kB, kA, 1500 + 23), nullptr,
       D::Drop(DropReason::kFrameTooLong)},
      // ---- hub mode: always flood
      {"hub: tap, known unicast floods", Mode::kHub, false, kTap, Eth(kB, kA), nullptr,
       D::FloodFromTap()},
      {"hub: tap, to a local MAC floods", Mode::kHub, false, kTap, Eth(kA, kD), nullptr,
       D::FloodFromTap()},
      {"hub: peer, Forward = no: TAP only", Mode::kHub, false, kFromP1, Eth(kC, kB), nullptr,
       D::ToTap()},
      {"hub: peer, Forward = yes: TAP and the others", Mode::kHub, true, kFromP1, Eth(kC, kB),
       nullptr, D::FloodFromPeer(kP1)},
      {"hub: relayed: TAP only", Mode::kHub, true, kRelayedFromP1, Eth(kC, kB), nullptr,
       D::ToTap()},
  };
  for (const Case& c : cases) {
    Switch sw(Options(c.mode, c.forward));
    if (c.mode == Mode::kSwitch) LearnABC(sw);
    const Decision got = sw.Decide(c.frame, c.in, c.allowed, kNow);
    EXPECT_EQ(got, c.want) << c.name << ": got " << got.ToString() << ", want "
                           << c.want.ToString();
  }
}

TEST(SwitchTest, LearnsFromAcceptedFramesOnly) {
  Switch sw(Options(Mode::kSwitch, false));
  AllowedMacs only_b;
  ASSERT_TRUE(only_b.AddList("02:00:00:00:00:0b").has_value());
  // Unknown A: flooded; the reply from B through peer 1 teaches B, and A's side was learned.
  EXPECT_EQ(sw.Decide(Eth(kBcast, kA), kTap, nullptr, kNow), D::FloodFromTap());
  EXPECT_EQ(sw.Decide(Eth(kA, kB), kFromP1, &only_b, kNow), D::ToTap());
  EXPECT_EQ(sw.Decide(Eth(kB, kA), kTap, nullptr, kNow), D::Unicast(kP1, false));
  // A spoofed source is dropped and not learned: C stays unknown.
  EXPECT_EQ(sw.Decide(Eth(kA, kC), kFromP1, &only_b, kNow), D::Drop(DropReason::kSourceNotAllowed));
  EXPECT_FALSE(sw.table().Lookup(MacAddress::FromU64(kC), kNow).has_value());
  // B moves to peer 2 (no AllowedMACs there): unicast follows it, and the move is counted.
  EXPECT_EQ(sw.Decide(Eth(kA, kB), Ingress::Peer(kP2), nullptr, kNow), D::ToTap());
  EXPECT_EQ(sw.Decide(Eth(kB, kA), kTap, nullptr, kNow), D::Unicast(kP2, false));
  EXPECT_EQ(sw.table().stats().moved, 1u);
  // Expired: flooded again.
  EXPECT_EQ(sw.Decide(Eth(kB, kD), kTap, nullptr, kNow + std::chrono::seconds(601)),
            D::FloodFromTap());
  // The peer goes away: what was learned on it is forgotten.
  EXPECT_EQ(sw.Decide(Eth(kA, kC), Ingress::Peer(kP2), nullptr, kNow), D::ToTap());
  EXPECT_EQ(sw.table().RemovePort(Port::Peer(kP2)), 2u);  // B and C
  EXPECT_EQ(sw.Decide(Eth(kC, kA), kTap, nullptr, kNow), D::FloodFromTap());
  // Hub mode learns nothing.
  Switch hub(Options(Mode::kHub, true));
  EXPECT_EQ(hub.Decide(Eth(kBcast, kA), kTap, nullptr, kNow), D::FloodFromTap());
  EXPECT_EQ(hub.table().size(), 0u);
  // Mode and Forward change at run time.
  sw.set_forward(true);
  sw.set_mode(Mode::kHub);
  EXPECT_EQ(sw.Decide(Eth(kA, kB), kFromP1, nullptr, kNow), D::FloodFromPeer(kP1));
}

TEST(SwitchTest, ReturnsTheParsedFrame) {
  Switch sw(Options(Mode::kSwitch, false));
  Frame f;
  auto bytes = Eth(kBcast, kA);
  StoreBe16(bytes.data() + 12, 0x0806);
  EXPECT_EQ(sw.Decide(bytes, kTap, nullptr, kNow, &f), D::FloodFromTap());
  EXPECT_EQ(f.ethertype, 0x0806);
  EXPECT_EQ(f.src, MacAddress::FromU64(kA));
}

// Loop safety (docs/l2.md): nodes with a Switch each, peer links as given, one broadcast from
// node 0's TAP. Frames are carried hop by hop (the device's job, done here by the test); the
// run must end, every TAP must get the frame, and no frame crosses more than two tunnel hops.
struct Net {
  std::vector<std::unique_ptr<Switch>> nodes;
  std::vector<std::vector<size_t>> peers;  // node -> its peers (PeerKey = node index)
};

struct Delivery {
  size_t taps_reached = 0;
  size_t tap_copies = 0;
  size_t messages = 0;
  size_t max_hops = 0;
};

Delivery Broadcast(Net& net, size_t from, uint64_t src) {
  struct InFlight {
    size_t to;
    Ingress in;
    size_t hops;
  };
  const auto frame = Eth(kBcast, src);
  std::vector<InFlight> queue;
  std::vector<size_t> copies(net.nodes.size(), 0);
  Delivery d;
  auto send = [&](size_t node, const Decision& dec, size_t hops) {
    if (dec.action == Decision::Action::kTap ||
        (dec.action == Decision::Action::kFlood && dec.flood_tap)) {
      ++copies[node];
    }
    if (dec.action == Decision::Action::kUnicast) {
      queue.push_back({dec.peer, Ingress::Peer(node, dec.relayed), hops + 1});
    }
    if (dec.action == Decision::Action::kFlood) {
      for (size_t p : net.peers[node]) {
        if (dec.has_exclude && p == dec.exclude) continue;
        queue.push_back({p, Ingress::Peer(node, dec.relayed), hops + 1});
      }
    }
  };
  send(from, net.nodes[from]->Decide(frame, Ingress::Tap(), nullptr, kNow), 0);
  copies[from] = 1;  // its own side had it
  for (size_t i = 0; i < queue.size(); ++i) {
    EXPECT_LT(queue.size(), 10000u) << "forwarding loop";
    if (queue.size() >= 10000) break;
    const InFlight f = queue[i];
    d.max_hops = std::max(d.max_hops, f.hops);
    send(f.to, net.nodes[f.to]->Decide(frame, f.in, nullptr, kNow), f.hops);
  }
  d.messages = queue.size();
  for (size_t c : copies) {
    if (c > 0) ++d.taps_reached;
    d.tap_copies += c;
  }
  return d;
}

Net MakeNet(size_t n, const std::vector<std::pair<size_t, size_t>>& links,
            const std::vector<bool>& forward) {
  Net net;
  net.peers.resize(n);
  for (size_t i = 0; i < n; ++i) {
    net.nodes.push_back(std::make_unique<Switch>(Options(Mode::kSwitch, forward[i])));
  }
  for (auto [a, b] : links) {
    net.peers[a].push_back(b);
    net.peers[b].push_back(a);
  }
  return net;
}

TEST(SwitchTest, LoopSafety) {
  using Links = std::vector<std::pair<size_t, size_t>>;
  const Links mesh = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
  const Links star = {{0, 1}, {0, 2}, {0, 3}};  // node 0 is the hub
  const Links ring = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 0}};
  const Links chain = {{0, 1}, {1, 2}, {2, 3}};
  const std::vector<bool> none(5, false), all(5, true);
  const std::vector<bool> hub = {true, false, false, false};
  struct Case {
    const char* name;
    size_t n;
    Links links;
    std::vector<bool> forward;
    size_t from;  // the node whose TAP sends the broadcast
    size_t want_reached;
    bool exactly_once;  // every TAP gets one copy
  } cases[] = {
      {"full mesh, no forwarding", 4, mesh, none, 0, 4, true},
      {"star, forwarding hub, from a spoke", 4, star, hub, 1, 4, true},
      {"star, forwarding hub, from the hub", 4, star, hub, 0, 4, true},
      {"star, hub not forwarding, from a spoke: no relay", 4, star, none, 1, 2, true},
      {"full mesh, everyone forwarding: copies, no storm", 4, mesh, all, 0, 4, false},
      {"ring of forwarders: no storm", 5, ring, all, 0, 5, false},
      {"chain of forwarders: at most one relay", 4, chain, all, 0, 3, true},
  };
  for (const Case& c : cases) {
    // From a spoke in the "from a spoke" case: node 1.
    const size_t from = std::string(c.name).find("spoke") != std::string::npos &&
                                std::string(c.name).find("from") != std::string::npos
                            ? 1
                            : 0;
    Net net = MakeNet(c.n, c.links, c.forward);
    const Delivery d = Broadcast(net, from, kA);
    EXPECT_EQ(d.taps_reached, c.want_reached) << c.name;
    EXPECT_LE(d.max_hops, 2u) << c.name;
    if (c.exactly_once) {
      EXPECT_EQ(d.tap_copies, d.taps_reached) << c.name;
    }
  }
}

}  // namespace
}  // namespace tundra::l2
