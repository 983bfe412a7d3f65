// The per-owner route lists of AllowedIps (EntriesForPeer, RemoveByPeer, CountForPeer) and the
// parent links removals splice with: table-driven cases, a peer with many prefixes, and a
// randomized differential test against a naive list with many owners.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>

#include "tundra/routing/allowed_ips.h"

namespace tundra::routing {
namespace {

IpPrefix P(const std::string& text) { return *IpPrefix::Parse(text); }
IpAddress A(const std::string& text) { return *IpAddress::Parse(text); }

std::vector<std::string> Texts(const std::vector<IpPrefix>& prefixes) {
  std::vector<std::string> out;
  for (const auto& p : prefixes) out.push_back(p.ToString());
  return out;
}

struct Op {
  enum Kind { kInsert, kRemove, kRemoveByPeer } kind;
  std::string prefix;  // unused for kRemoveByPeer
  int peer;
  bool removes = false;  // kRemove: expected result
};

struct Case {
  const char* name;
  std::vector<Op> ops;
  std::map<int, std::vector<std::string>> entries;  // per peer, in EntriesForPeer's order
  std::vector<std::pair<std::string, int>> lookups;
};

TEST(AllowedIpsOwnerTest, TableDriven) {
  const Case cases[] = {
      {"insert lists in pre-order, IPv4 first",
       {{Op::kInsert, "fd19::/64", 1},
        {Op::kInsert, "198.19.0.0/24", 1},
        {Op::kInsert, "198.19.0.0/16", 1},
        {Op::kInsert, "10.0.0.1/32", 1},
        {Op::kInsert, "198.19.0.7/24", 1}},  // the same /24 again (host bits masked): no change
       {{1, {"10.0.0.1/32", "198.19.0.0/16", "198.19.0.0/24", "fd19::/64"}}},
       {{"198.19.0.9", 1}, {"198.19.9.9", 1}, {"fd19::1", 1}, {"10.0.0.2", 0}}},
      {"an identical prefix moves to its new owner",
       {{Op::kInsert, "198.19.0.0/24", 1},
        {Op::kInsert, "198.19.1.0/24", 1},
        {Op::kInsert, "198.19.0.0/24", 2}},
       {{1, {"198.19.1.0/24"}}, {2, {"198.19.0.0/24"}}},
       {{"198.19.0.1", 2}, {"198.19.1.1", 1}}},
      {"a moved prefix leaves its old owner's list empty",
       {{Op::kInsert, "fd19::1/128", 1}, {Op::kInsert, "fd19::1/128", 2}},
       {{1, {}}, {2, {"fd19::1/128"}}},
       {{"fd19::1", 2}}},
      {"remove needs the owner",
       {{Op::kInsert, "198.19.0.0/24", 1},
        {Op::kRemove, "198.19.0.0/24", 2, false},
        {Op::kRemove, "198.19.0.0/25", 1, false},
        {Op::kRemove, "198.19.0.3/24", 1, true},  // masked like the insert
        {Op::kRemove, "198.19.0.0/24", 1, false}},
       {{1, {}}, {2, {}}},
       {{"198.19.0.1", 0}}},
      {"removing the middle of a chain keeps both ends",
       {{Op::kInsert, "198.18.0.0/15", 1},
        {Op::kInsert, "198.19.0.0/16", 2},
        {Op::kInsert, "198.19.0.0/24", 3},
        {Op::kRemove, "198.19.0.0/16", 2, true}},
       {{1, {"198.18.0.0/15"}}, {2, {}}, {3, {"198.19.0.0/24"}}},
       {{"198.19.0.1", 3}, {"198.19.1.1", 1}, {"198.18.0.1", 1}}},
      {"removing one side of a branch point splices it",
       {{Op::kInsert, "198.19.0.1/32", 1},
        {Op::kInsert, "198.19.0.2/32", 2},
        {Op::kInsert, "198.19.0.3/32", 1},
        {Op::kRemoveByPeer, "", 1}},
       {{1, {}}, {2, {"198.19.0.2/32"}}},
       {{"198.19.0.1", 0}, {"198.19.0.2", 2}, {"198.19.0.3", 0}}},
      {"remove by peer leaves the other peers' nested routes",
       {{Op::kInsert, "0.0.0.0/0", 1},
        {Op::kInsert, "198.19.0.0/16", 2},
        {Op::kInsert, "198.19.0.0/24", 1},
        {Op::kInsert, "198.19.0.1/32", 2},
        {Op::kInsert, "::/0", 1},
        {Op::kInsert, "fd19::/16", 2},
        {Op::kRemoveByPeer, "", 1}},
       {{1, {}}, {2, {"198.19.0.0/16", "198.19.0.1/32", "fd19::/16"}}},
       {{"198.19.0.1", 2}, {"198.19.0.2", 2}, {"198.18.0.1", 0}, {"fd18::1", 0}, {"fd19::1", 2}}},
      {"remove by peer of an unknown peer does nothing",
       {{Op::kInsert, "198.19.0.0/24", 1}, {Op::kRemoveByPeer, "", 7}},
       {{1, {"198.19.0.0/24"}}, {7, {}}},
       {{"198.19.0.1", 1}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    AllowedIps<int> t;
    for (const Op& op : c.ops) {
      switch (op.kind) {
        case Op::kInsert:
          t.Insert(P(op.prefix), op.peer);
          break;
        case Op::kRemove:
          EXPECT_EQ(t.Remove(P(op.prefix), op.peer), op.removes) << op.prefix;
          break;
        case Op::kRemoveByPeer:
          t.RemoveByPeer(op.peer);
          break;
      }
      ASSERT_TRUE(t.Valid());
    }
    size_t total = 0;
    for (const auto& [peer, want] : c.entries) {
      EXPECT_EQ(Texts(t.EntriesForPeer(peer)), want) << "peer " << peer;
      EXPECT_EQ(t.CountForPeer(peer), want.size()) << "peer " << peer;
      total += want.size();
    }
    EXPECT_EQ(t.size(), total);
    for (const auto& [addr, peer] : c.lookups) EXPECT_EQ(t.Lookup(A(addr)), peer) << addr;
  }
}

// One peer with 20,000 prefixes (nested, both families) among 2,000 single-prefix peers: its
// removal removes exactly its routes and the others' lookups do not change.
TEST(AllowedIpsOwnerTest, RemovalOfAPeerWithManyPrefixes) {
  AllowedIps<int> t;
  constexpr int kBig = 1, kOthers = 2000;
  for (int i = 0; i < kOthers; ++i) {
    t.Insert(P(fmt::format("198.18.{}.{}/32", i / 256, i % 256)), 10 + i);
    t.Insert(P(fmt::format("fd19::{:x}:0/112", i)), 10 + i);
  }
  for (int i = 0; i < 10000; ++i) {
    t.Insert(P(fmt::format("198.18.{}.{}/{}", (i / 64) % 256, (i % 64) * 4, 24 + i % 9)), kBig);
    t.Insert(P(fmt::format("fd19::{:x}:{:x}/{}", i % kOthers, i, 96 + i % 33)), kBig);
  }
  ASSERT_TRUE(t.Valid());
  const size_t big = t.CountForPeer(kBig);
  EXPECT_GT(big, 1000u);  // some of the big peer's inserts replaced others' or its own prefixes
  EXPECT_EQ(t.EntriesForPeer(kBig).size(), big);
  // The lookups of the other peers' addresses with the big peer gone, from a fresh table.
  AllowedIps<int> without;
  for (int i = 0; i < kOthers; ++i) {
    for (const IpPrefix& p : t.EntriesForPeer(10 + i)) without.Insert(p, 10 + i);
  }
  const size_t before = t.size();
  t.RemoveByPeer(kBig);
  ASSERT_TRUE(t.Valid());
  EXPECT_EQ(t.size(), before - big);
  EXPECT_EQ(t.size(), without.size());
  EXPECT_EQ(t.CountForPeer(kBig), 0u);
  EXPECT_TRUE(t.EntriesForPeer(kBig).empty());
  std::mt19937 rng(7);
  for (int q = 0; q < 20000; ++q) {
    const int i = int(rng() % kOthers);
    const IpAddress v4 = A(fmt::format("198.18.{}.{}", (i / 256 + rng() % 2) % 256, rng() % 256));
    const IpAddress v6 = A(fmt::format("fd19::{:x}:{:x}", i, rng() % 65536));
    ASSERT_EQ(t.Lookup(v4), without.Lookup(v4)) << v4.ToString();
    ASSERT_EQ(t.Lookup(v6), without.Lookup(v6)) << v6.ToString();
  }
}

// Randomized operations on 200 owners against a naive list: lookups, every owner's entries and
// counts, and the structure after every step.
TEST(AllowedIpsOwnerTest, DifferentialEntriesAgainstNaiveList) {
  const uint32_t seed = 0x5ca1e;
  std::mt19937 rng(seed);
  auto random_prefix = [&](bool v6) {
    uint8_t bytes[16];
    for (auto& x : bytes) x = uint8_t(rng());
    bytes[0] = uint8_t(rng() % 3);  // clustered, so that prefixes nest and collide
    bytes[1] = uint8_t(rng() % 3);
    const unsigned max = v6 ? 128 : 32;
    return IpPrefix(v6 ? IpAddress::V6(bytes) : IpAddress::V4(bytes), rng() % (max + 1)).Masked();
  };
  std::vector<std::pair<IpPrefix, int>> naive;  // masked prefix -> owner
  auto find = [&](const IpPrefix& p) {
    return std::find_if(naive.begin(), naive.end(), [&](const auto& r) { return r.first == p; });
  };
  AllowedIps<int> t;
  constexpr int kOwners = 200;
  for (int op = 0; op < 6000; ++op) {
    const int owner = 1 + int(rng() % kOwners);
    const unsigned kind = rng() % 10;
    if (kind < 6) {
      const IpPrefix p = random_prefix(rng() % 2);
      t.Insert(p, owner);
      auto it = find(p);
      if (it != naive.end()) {
        it->second = owner;
      } else {
        naive.emplace_back(p, owner);
      }
    } else if (kind < 9 && !naive.empty()) {
      const auto [p, real] = naive[rng() % naive.size()];
      const int who = rng() % 4 == 0 ? owner : real;  // sometimes the wrong owner
      const bool removed = t.Remove(p, who);
      ASSERT_EQ(removed, who == real) << "op " << op;
      if (removed) naive.erase(find(p));
    } else {
      t.RemoveByPeer(owner);
      std::erase_if(naive, [&](const auto& r) { return r.second == owner; });
    }
    ASSERT_TRUE(t.Valid()) << "seed " << seed << " op " << op;
    ASSERT_EQ(t.size(), naive.size()) << "op " << op;
    if (op % 50 != 0) continue;
    for (int o = 1; o <= kOwners; ++o) {
      std::vector<IpPrefix> want;
      for (const auto& r : naive) {
        if (r.second == o) want.push_back(r.first);
      }
      std::vector<IpPrefix> got = t.EntriesForPeer(o);
      ASSERT_EQ(got.size(), t.CountForPeer(o));
      auto key = [](const IpPrefix& p) { return std::make_pair(p.ToString(), p.bits()); };
      std::vector<std::pair<std::string, unsigned>> a, b;
      for (const auto& p : got) a.push_back(key(p));
      for (const auto& p : want) b.push_back(key(p));
      std::sort(b.begin(), b.end());
      std::vector<std::pair<std::string, unsigned>> a_sorted = a;
      std::sort(a_sorted.begin(), a_sorted.end());
      ASSERT_EQ(a_sorted, b) << "owner " << o << " op " << op;
    }
    for (int q = 0; q < 50; ++q) {
      const IpAddress probe = random_prefix(rng() % 2).address();
      int best = 0, best_bits = -1;
      for (const auto& r : naive) {
        if (r.first.Contains(probe) && int(r.first.bits()) > best_bits) {
          best = r.second;
          best_bits = int(r.first.bits());
        }
      }
      ASSERT_EQ(t.Lookup(probe), best) << probe.ToString() << " op " << op;
    }
  }
}

}  // namespace
}  // namespace tundra::routing
