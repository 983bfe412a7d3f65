#include "tundra/routing/allowed_ips.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace tundra::routing {
namespace {

IpPrefix P(const char* text) { return *IpPrefix::Parse(text); }
IpAddress A(const char* text) { return *IpAddress::Parse(text); }

enum Peer { none = 0, a, b, c, d, e, f, g, h };

// The kernel's fixed table (selftest/allowedips.c).
class KernelTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t.Insert(P("192.168.4.0/24"), a);
    t.Insert(P("192.168.4.4/32"), b);
    t.Insert(P("192.168.0.0/16"), c);
    t.Insert(P("192.95.5.64/27"), d);
    t.Insert(P("192.95.5.65/27"), c);  // replaces d; host bits are masked
    t.Insert(P("2607:5300:6000:6b00::c05f:543/128"), d);
    t.Insert(P("2607:5300:6000:6b00::/64"), c);
    t.Insert(P("0.0.0.0/0"), e);
    t.Insert(P("::/0"), e);
    t.Insert(P("::/0"), f);  // replaces e
    t.Insert(P("2404:6800::/32"), g);
    t.Insert(P("2404:6800:4004:800:dead:beef:dead:beef/64"), h);
    t.Insert(P("2404:6800:4004:800:dead:beef:dead:beef/128"), a);
    t.Insert(P("2444:6800:40e4:800:deae:beef:def:beef/128"), c);
    t.Insert(P("2444:6800:f0e4:800:eeae:beef::/98"), b);
    t.Insert(P("64.15.112.0/20"), g);
    t.Insert(P("64.15.123.211/25"), h);
    t.Insert(P("10.0.0.0/25"), a);
    t.Insert(P("10.0.0.128/25"), b);
    t.Insert(P("10.1.0.0/30"), a);
    t.Insert(P("10.1.0.4/30"), b);
    t.Insert(P("10.1.0.8/29"), c);
    t.Insert(P("10.1.0.16/29"), d);
  }
  AllowedIps<int> t;
};

TEST_F(KernelTableTest, Lookups) {
  const std::pair<const char*, int> expect[] = {
      {"192.168.4.20", a},
      {"192.168.4.0", a},
      {"192.168.4.4", b},
      {"192.168.200.182", c},
      {"192.95.5.68", c},
      {"192.95.5.96", e},
      {"2607:5300:6000:6b00::c05f:543", d},
      {"2607:5300:6000:6b00::c02e:1ee", c},
      {"2607:5300:6000:6b01::", f},
      {"2404:6800:4004:806::1006", g},
      {"2404:6800:4004:806:0:1234:0:5678", g},
      {"2404:67ff:4004:806:0:1234:0:5678", f},
      {"2404:6801:4004:806:0:1234:0:5678", f},
      {"2404:6800:4004:800:0:1234:0:5678", h},
      {"2404:6800:4004:800::", h},
      {"2404:6800:4004:800:1010:1010:1010:1010", h},
      {"2404:6800:4004:800:dead:beef:dead:beef", a},
      {"64.15.116.26", g},
      {"64.15.127.3", g},
      {"64.15.123.1", g},
      {"64.15.123.128", h},
      {"64.15.123.129", h},
      {"10.0.0.52", a},
      {"10.0.0.220", b},
      {"10.1.0.2", a},
      {"10.1.0.6", b},
      {"10.1.0.10", c},
      {"10.1.0.20", d},
  };
  for (const auto& [addr, peer] : expect) EXPECT_EQ(t.Lookup(A(addr)), peer) << addr;
}

TEST_F(KernelTableTest, RemoveByPeerAndReplacement) {
  EXPECT_EQ(t.EntriesForPeer(d).size(),
            2u);  // 2607:...543/128 and 10.1.0.16/29 (192.95 moved to c)
  t.RemoveByPeer(a);
  EXPECT_EQ(t.Lookup(A("192.168.4.20")), c);
  EXPECT_EQ(t.Lookup(A("2404:6800:4004:800:dead:beef:dead:beef")), h);
  EXPECT_EQ(t.Lookup(A("10.1.0.2")), e);
  EXPECT_TRUE(t.EntriesForPeer(a).empty());
  // Remove of a prefix owned by someone else does nothing.
  EXPECT_FALSE(t.Remove(P("192.168.0.0/16"), b));
  EXPECT_TRUE(t.Remove(P("192.168.0.0/16"), c));
  EXPECT_EQ(t.Lookup(A("192.168.200.182")), e);
}

TEST(AllowedIpsTest, PeerRemovalDropsAllItsHosts) {
  AllowedIps<int> t;
  for (const char* p :
       {"1.0.0.0/32", "64.0.0.0/32", "128.0.0.0/32", "192.0.0.0/32", "255.0.0.0/32"}) {
    t.Insert(P(p), a);
  }
  EXPECT_EQ(t.size(), 5u);
  t.RemoveByPeer(a);
  EXPECT_EQ(t.size(), 0u);
  for (const char* p : {"1.0.0.0", "64.0.0.0", "128.0.0.0", "192.0.0.0", "255.0.0.0"}) {
    EXPECT_EQ(t.Lookup(A(p)), none) << p;
  }
  // A /16 and a /24 of the same peer, removed.
  t.Insert(P("192.168.0.0/16"), a);
  t.Insert(P("192.168.0.0/24"), a);
  t.RemoveByPeer(a);
  EXPECT_EQ(t.Lookup(A("192.168.0.1")), none);
  EXPECT_EQ(t.size(), 0u);
}

TEST(AllowedIpsTest, AllOnesWithOneBitCleared) {
  AllowedIps<int> t;
  for (int i = 0; i < 128; ++i) {
    uint8_t bytes[16];
    std::memset(bytes, 0xff, 16);
    bytes[i / 8] &= uint8_t(~(0x80 >> (i % 8)));
    t.Insert(IpPrefix(IpAddress::V6(bytes), 128), a);
  }
  EXPECT_EQ(t.size(), 128u);
  EXPECT_EQ(t.EntriesForPeer(a).size(), 128u);
  t.RemoveByPeer(a);
  EXPECT_EQ(t.size(), 0u);
}

TEST(AllowedIpsTest, EntriesForPeerAreNormalized) {
  AllowedIps<int> t;
  t.Insert(P("192.95.5.93/27"), a);
  t.Insert(P("2607:5300:6000:6b00::c05f:543/128"), a);
  t.Insert(P("10.1.0.20/29"), a);
  t.Insert(P("2607:5300:6d8a:6bf8:dab1:f238:3b5c:a0a5/83"), a);
  t.Insert(P("2607:5300:6000:6b00::/21"), a);
  auto got = t.EntriesForPeer(a);
  std::vector<std::string> text;
  for (const auto& p : got) text.push_back(p.ToString());
  std::sort(text.begin(), text.end());
  std::vector<std::string> want = {"10.1.0.16/29", "192.95.5.64/27", "2607:5000::/21",
                                   "2607:5300:6000:6b00::c05f:543/128",
                                   "2607:5300:6d8a:6bf8:dab1:e000::/83"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(text, want);
}

TEST(AllowedIpsTest, PacketHelpers) {
  AllowedIps<int> t;
  t.Insert(P("198.19.0.0/24"), a);
  t.Insert(P("fd19::/64"), b);
  uint8_t v4[20] = {0x45};
  v4[12] = 198, v4[13] = 19, v4[14] = 0, v4[15] = 2;  // src
  v4[16] = 198, v4[17] = 18, v4[18] = 0, v4[19] = 2;  // dst
  EXPECT_EQ(t.LookupPacketSrc(v4), a);
  EXPECT_EQ(t.LookupPacketDst(v4), none);
  uint8_t v6[40] = {0x60};
  v6[24] = 0xfd, v6[25] = 0x19, v6[39] = 1;
  EXPECT_EQ(t.LookupPacketDst(v6), b);
  EXPECT_EQ(t.LookupPacketDst(ByteSpan(v6, 39)), none);
  uint8_t junk[40] = {0x50};
  EXPECT_EQ(t.LookupPacketDst(junk), none);
}

// Randomized differential test against a deliberately naive list.
struct Naive {
  std::vector<std::pair<IpPrefix, int>> routes;
  void Insert(const IpPrefix& p, int v) {
    IpPrefix m = p.Masked();
    for (auto& r : routes) {
      if (r.first == m) {
        r.second = v;
        return;
      }
    }
    routes.emplace_back(m, v);
  }
  void Remove(const IpPrefix& p, int v) {
    IpPrefix m = p.Masked();
    routes.erase(std::remove_if(routes.begin(), routes.end(),
                                [&](const auto& r) { return r.first == m && r.second == v; }),
                 routes.end());
  }
  void RemoveByPeer(int v) {
    routes.erase(
        std::remove_if(routes.begin(), routes.end(), [&](const auto& r) { return r.second == v; }),
        routes.end());
  }
  int Lookup(const IpAddress& a) const {
    int best = none;
    int best_bits = -1;
    for (const auto& r : routes) {
      if (r.first.Contains(a) && int(r.first.bits()) > best_bits) {
        best = r.second;
        best_bits = int(r.first.bits());
      }
    }
    return best;
  }
};

TEST(AllowedIpsTest, DifferentialAgainstNaiveList) {
  const uint32_t seed = 0xa11c0de;
  std::mt19937 rng(seed);
  auto random_address = [&](bool v6) {
    uint8_t bytes[16];
    for (auto& x : bytes) x = uint8_t(rng());
    // Cluster addresses so that prefixes overlap often.
    bytes[0] = uint8_t(rng() % 4);
    return v6 ? IpAddress::V6(bytes) : IpAddress::V4(bytes);
  };
  for (int round = 0; round < 4; ++round) {
    AllowedIps<int> trie;
    Naive naive;
    std::vector<IpPrefix> inserted;
    for (int op = 0; op < 3000; ++op) {
      const bool v6 = rng() % 2;
      const int peer = 1 + int(rng() % 40);
      switch (rng() % 10) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4: {
          IpPrefix p(random_address(v6), rng() % (v6 ? 129 : 33));
          trie.Insert(p, peer);
          naive.Insert(p, peer);
          inserted.push_back(p);
          break;
        }
        case 5:
        case 6:
          if (!inserted.empty()) {
            const IpPrefix& p = inserted[rng() % inserted.size()];
            const int owner = naive.Lookup(p.address());
            trie.Remove(p, owner);
            naive.Remove(p, owner);
          }
          break;
        case 7:
          trie.RemoveByPeer(peer);
          naive.RemoveByPeer(peer);
          break;
        default:
          break;
      }
      for (int q = 0; q < 20; ++q) {
        IpAddress probe = random_address(rng() % 2);
        ASSERT_EQ(trie.Lookup(probe), naive.Lookup(probe))
            << "seed " << seed << " round " << round << " op " << op << " " << probe.ToString();
      }
      ASSERT_EQ(trie.size(), naive.routes.size()) << "seed " << seed << " op " << op;
    }
    for (int peer = 1; peer <= 40; ++peer) {
      size_t n = 0;
      for (const auto& r : naive.routes) n += r.second == peer;
      ASSERT_EQ(trie.EntriesForPeer(peer).size(), n);
    }
  }
}

TEST(IpPrefixTest, ParseAndPrint) {
  EXPECT_EQ(P("198.19.0.1/24").ToString(), "198.19.0.1/24");
  EXPECT_EQ(P("198.19.0.1/24").Masked().ToString(), "198.19.0.0/24");
  EXPECT_EQ(P("fd19::1").ToString(), "fd19::1/128");
  EXPECT_EQ(P("198.19.0.1").bits(), 32u);
  EXPECT_EQ(P("FD19:0:0::1/64").Masked().ToString(), "fd19::/64");
  for (const char* bad : {"", "198.19.0.1/33", "fd19::/129", "198.19.0/24", "x/1", "1.2.3.4/",
                          "1.2.3.4/-1", "1.2.3.4/ 3", "::1/1x"}) {
    auto r = IpPrefix::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_NE(IpPrefix::Parse("300.1.1.1/8").error().message().find("300.1.1.1"), std::string::npos);
  EXPECT_TRUE(P("198.19.0.0/16").Contains(A("198.19.200.1")));
  EXPECT_FALSE(P("198.19.0.0/16").Contains(A("fd19::1")));
}

}  // namespace
}  // namespace tundra::routing
