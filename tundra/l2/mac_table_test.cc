#include "tundra/l2/mac_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace tundra::l2 {
namespace {

using std::chrono::seconds;

// The injected clock: a TimePoint the test moves by hand.
const TimePoint kT0 = TimePoint(seconds(1000));

MacAddress Mac(uint64_t i) { return MacAddress::FromU64(0x020000000000 | i); }

MacTableOptions Small(size_t capacity = 16, seconds expiry = seconds(600)) {
  return MacTableOptions{capacity, expiry, /*hash_seed=*/42};
}

TEST(MacTableTest, ValidatesOptions) {
  struct Case {
    size_t capacity;
    seconds expiry;
    bool ok;
    const char* says;
  } cases[] = {
      {kDefaultMacTableSize, kDefaultMacExpiry, true, nullptr},
      {kMinMacTableSize, kMinMacExpiry, true, nullptr},
      {kMaxMacTableSize, kMaxMacExpiry, true, nullptr},
      {kMinMacTableSize - 1, kDefaultMacExpiry, false, "MAC table size 15 is outside 16..1048576"},
      {kMaxMacTableSize + 1, kDefaultMacExpiry, false, "MAC table size"},
      {kDefaultMacTableSize, seconds(9), false, "MAC expiry 9 s is outside 10..86400 s"},
      {kDefaultMacTableSize, seconds(86401), false, "MAC expiry"},
  };
  for (const Case& c : cases) {
    Status s = ValidateMacTableOptions(MacTableOptions{c.capacity, c.expiry, 0});
    ASSERT_EQ(s.has_value(), c.ok) << c.capacity << " " << c.expiry.count();
    if (!c.ok) {
      EXPECT_NE(s.error().message().find(c.says), std::string::npos);
    }
  }
  EXPECT_EQ(MacTableOptions{}.expiry, seconds(600));
}

TEST(MacTableTest, LearnsLooksUpAndRenews) {
  MacTable t(Small());
  EXPECT_FALSE(t.Lookup(Mac(1), kT0).has_value());
  EXPECT_EQ(t.Learn(Mac(1), Port::Peer(7), kT0), LearnResult::kLearned);
  EXPECT_EQ(t.Learn(Mac(2), Port::Tap(), kT0), LearnResult::kLearned);
  EXPECT_EQ(t.Lookup(Mac(1), kT0), Port::Peer(7));
  EXPECT_EQ(t.Lookup(Mac(2), kT0), Port::Tap());
  EXPECT_FALSE(t.Lookup(Mac(3), kT0).has_value());
  // Within kMacRefreshInterval nothing is written; after it, the time is renewed.
  EXPECT_EQ(t.Learn(Mac(1), Port::Peer(7), kT0 + std::chrono::milliseconds(999)),
            LearnResult::kKnown);
  EXPECT_EQ(t.Learn(Mac(1), Port::Peer(7), kT0 + seconds(1)), LearnResult::kRenewed);
  // Never learned: zero and group addresses.
  EXPECT_EQ(t.Learn(MacAddress(), Port::Peer(7), kT0), LearnResult::kIgnored);
  EXPECT_EQ(t.Learn(MacAddress::Broadcast(), Port::Peer(7), kT0), LearnResult::kIgnored);
  EXPECT_EQ(t.Learn(MacAddress::FromU64(0x01005e000001), Port::Peer(7), kT0),
            LearnResult::kIgnored);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.stats().learned, 2u);
}

TEST(MacTableTest, ExpiresOnTheInjectedClock) {
  MacTable t(Small(16, seconds(600)));
  ASSERT_EQ(t.Learn(Mac(1), Port::Peer(1), kT0), LearnResult::kLearned);
  ASSERT_EQ(t.Learn(Mac(2), Port::Peer(1), kT0 + seconds(100)), LearnResult::kLearned);
  struct Step {
    seconds at;
    bool mac1, mac2;
  } steps[] = {
      {seconds(599), true, true},
      {seconds(600), false, true},  // exactly `expiry` idle: gone
      {seconds(699), false, true},
      {seconds(700), false, false},
  };
  for (const Step& s : steps) {
    EXPECT_EQ(t.Lookup(Mac(1), kT0 + s.at).has_value(), s.mac1) << s.at.count();
    EXPECT_EQ(t.Lookup(Mac(2), kT0 + s.at).has_value(), s.mac2) << s.at.count();
  }
  // Lookups do not remove; Expire does, oldest first, and counts.
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Expire(kT0 + seconds(650)), 1u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.Entries(kT0 + seconds(650)).front().mac, Mac(2));
  EXPECT_EQ(t.Expire(kT0 + seconds(650)), 0u);
  EXPECT_EQ(t.stats().expired, 1u);

  // Traffic keeps an entry alive: renewed at 500, it lives to 1100.
  ASSERT_EQ(t.Learn(Mac(2), Port::Peer(1), kT0 + seconds(500)), LearnResult::kRenewed);
  EXPECT_TRUE(t.Lookup(Mac(2), kT0 + seconds(1099)).has_value());
  EXPECT_FALSE(t.Lookup(Mac(2), kT0 + seconds(1100)).has_value());
  // A source seen again after expiry is learned anew (not a move), counting the stale entry.
  EXPECT_EQ(t.Learn(Mac(2), Port::Peer(9), kT0 + seconds(2000)), LearnResult::kLearned);
  EXPECT_EQ(t.Lookup(Mac(2), kT0 + seconds(2000)), Port::Peer(9));
  EXPECT_EQ(t.stats().moved, 0u);
  EXPECT_EQ(t.stats().expired, 2u);
  // Configurable: a 10 s table.
  MacTable short_table(Small(16, seconds(10)));
  ASSERT_EQ(short_table.Learn(Mac(1), Port::Tap(), kT0), LearnResult::kLearned);
  EXPECT_TRUE(short_table.Lookup(Mac(1), kT0 + seconds(9)).has_value());
  EXPECT_FALSE(short_table.Lookup(Mac(1), kT0 + seconds(10)).has_value());
}

TEST(MacTableTest, EvictsOldestFirstAndCounts) {
  MacTable t(Small(16));
  for (uint64_t i = 0; i < 16; ++i) {
    ASSERT_EQ(t.Learn(Mac(i), Port::Peer(1), kT0 + seconds(i)), LearnResult::kLearned);
  }
  // Renewing mac 0 makes mac 1 the oldest.
  ASSERT_EQ(t.Learn(Mac(0), Port::Peer(1), kT0 + seconds(20)), LearnResult::kRenewed);
  struct Step {
    uint64_t learn;
    uint64_t evicted;
  } steps[] = {{100, 1}, {101, 2}, {102, 3}, {103, 4}};
  uint64_t n = 0;
  for (const Step& s : steps) {
    ASSERT_EQ(t.Learn(Mac(s.learn), Port::Peer(2), kT0 + seconds(30)), LearnResult::kLearned);
    EXPECT_FALSE(t.Lookup(Mac(s.evicted), kT0 + seconds(30)).has_value()) << s.evicted;
    EXPECT_TRUE(t.Lookup(Mac(s.learn), kT0 + seconds(30)).has_value());
    EXPECT_EQ(t.stats().evicted, ++n);
    EXPECT_EQ(t.size(), 16u);
  }
  EXPECT_TRUE(t.Lookup(Mac(0), kT0 + seconds(30)).has_value());
  // Entries: oldest first.
  auto e = t.Entries(kT0 + seconds(30));
  ASSERT_EQ(e.size(), 16u);
  EXPECT_EQ(e.front().mac, Mac(5));
  EXPECT_EQ(e.front().age, seconds(25));
  EXPECT_EQ(e.back().mac, Mac(103));
  // An expired entry making room counts as expired, not evicted.
  ASSERT_EQ(t.Learn(Mac(200), Port::Peer(2), kT0 + seconds(606)), LearnResult::kLearned);
  EXPECT_EQ(t.stats().evicted, 4u);
  EXPECT_EQ(t.stats().expired, 1u);
}

TEST(MacTableTest, LongChainEvictsItsOldest) {
  // Addresses that all hash to one bucket (found with the seeded hash).
  MacTable t(Small(64));
  std::vector<MacAddress> same;
  const size_t bucket = t.BucketForTesting(Mac(0));
  for (uint64_t i = 0; same.size() < kMaxMacChain + 2; ++i) {
    if (t.BucketForTesting(Mac(i)) == bucket) same.push_back(Mac(i));
  }
  for (size_t i = 0; i < kMaxMacChain; ++i) {
    ASSERT_EQ(t.Learn(same[i], Port::Peer(1), kT0 + seconds(i)), LearnResult::kLearned);
  }
  EXPECT_EQ(t.stats().evicted_chain, 0u);
  ASSERT_EQ(t.Learn(same[kMaxMacChain], Port::Peer(1), kT0 + seconds(50)), LearnResult::kLearned);
  EXPECT_EQ(t.stats().evicted_chain, 1u);
  EXPECT_FALSE(t.Lookup(same[0], kT0 + seconds(50)).has_value());  // the chain's oldest
  for (size_t i = 1; i <= kMaxMacChain; ++i) {
    EXPECT_TRUE(t.Lookup(same[i], kT0 + seconds(50)).has_value()) << i;
  }
  EXPECT_EQ(t.size(), kMaxMacChain);
}

TEST(MacTableTest, MovesBetweenPortsAreCounted) {
  MacTable t(Small());
  ASSERT_EQ(t.Learn(Mac(1), Port::Peer(1), kT0), LearnResult::kLearned);
  struct Step {
    Port port;
    LearnResult want;
  } steps[] = {
      {Port::Peer(2), LearnResult::kMoved},  // a VM migrated to another site
      {Port::Peer(2), LearnResult::kKnown},
      {Port::Tap(), LearnResult::kMoved},  // ... and then to this one
      {Port::Peer(1), LearnResult::kMoved},
  };
  uint64_t moves = 0;
  for (const Step& s : steps) {
    EXPECT_EQ(t.Learn(Mac(1), s.port, kT0), s.want);
    EXPECT_EQ(t.Lookup(Mac(1), kT0), s.port);
    if (s.want == LearnResult::kMoved) ++moves;
    EXPECT_EQ(t.stats().moved, moves);
  }
  EXPECT_EQ(t.size(), 1u);
}

TEST(MacTableTest, ExpireRemovesAtMostMaxPerCall) {
  MacTable t(Small(64, seconds(600)));
  for (uint64_t i = 0; i < 30; ++i) {
    ASSERT_EQ(t.Learn(Mac(i), Port::Peer(1), kT0 + seconds(i)), LearnResult::kLearned);
  }
  const TimePoint later = kT0 + seconds(700);  // all expired
  EXPECT_EQ(t.Expire(later, 12), 12u);
  EXPECT_EQ(t.size(), 18u);
  // Oldest first: the 12 learned first are the ones gone; the rest are unusable but still there.
  const auto left = t.Entries(kT0 + seconds(600) + seconds(11));
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.front().mac, Mac(12));
  EXPECT_FALSE(t.Lookup(Mac(20), later).has_value());
  EXPECT_EQ(t.Expire(later, 12), 12u);
  EXPECT_EQ(t.Expire(later, 12), 6u);
  EXPECT_EQ(t.Expire(later, 12), 0u);
  EXPECT_EQ(t.stats().expired, 30u);
}

TEST(MacTableTest, RemovesSeveralPeersInOneSweep) {
  MacTable t(Small(64));
  for (uint64_t i = 0; i < 40; ++i) {
    const Port p = i % 4 == 0 ? Port::Tap() : Port::Peer(i % 4);
    ASSERT_EQ(t.Learn(Mac(i), p, kT0), LearnResult::kLearned);
  }
  // Peers 3 and 1 (unsorted, with one that has nothing and a repeat): 20 entries; the TAP's
  // and peer 2's stay.
  EXPECT_EQ(t.RemovePeers({3, 77, 1, 3}), 20u);
  EXPECT_EQ(t.size(), 20u);
  EXPECT_EQ(t.stats().removed, 20u);
  for (uint64_t i = 0; i < 40; ++i) {
    const bool kept = i % 4 == 0 || i % 4 == 2;
    EXPECT_EQ(t.Lookup(Mac(i), kT0).has_value(), kept) << i;
  }
  EXPECT_EQ(t.RemovePeers({}), 0u);
  // Peer key 0 is not the TAP.
  ASSERT_EQ(t.Learn(Mac(500), Port::Peer(0), kT0), LearnResult::kLearned);
  EXPECT_EQ(t.RemovePeers({0}), 1u);
  EXPECT_TRUE(t.Lookup(Mac(0), kT0).has_value());  // the TAP's
}

TEST(MacTableTest, RemovesEveryEntryOfAPeer) {
  MacTable t(Small(64));
  for (uint64_t i = 0; i < 30; ++i) {
    const Port p = i % 3 == 0 ? Port::Tap() : Port::Peer(i % 3);
    ASSERT_EQ(t.Learn(Mac(i), p, kT0), LearnResult::kLearned);
  }
  EXPECT_EQ(t.RemovePort(Port::Peer(1)), 10u);
  EXPECT_EQ(t.RemovePort(Port::Peer(1)), 0u);
  EXPECT_EQ(t.RemovePort(Port::Peer(99)), 0u);
  EXPECT_EQ(t.size(), 20u);
  EXPECT_EQ(t.stats().removed, 10u);
  for (uint64_t i = 0; i < 30; ++i) {
    EXPECT_EQ(t.Lookup(Mac(i), kT0).has_value(), i % 3 != 1) << i;
  }
  // The freed room is reused: 44 more fit without an eviction.
  for (uint64_t i = 100; i < 144; ++i)
    ASSERT_EQ(t.Learn(Mac(i), Port::Peer(5), kT0), LearnResult::kLearned);
  EXPECT_EQ(t.size(), 64u);
  EXPECT_EQ(t.stats().evicted, 0u);
}

TEST(MacTableTest, DeferredLearnsAreCounted) {
  // Learn(wait = false) does not wait while another thread's RemovePort holds the writer lock:
  // it returns kDeferred, counted. (Whether the two overlap is up to the scheduler.)
  MacTable t(Small(4096));
  std::atomic<bool> stop{false};
  std::thread remover([&] {
    while (!stop.load()) (void)t.RemovePort(Port::Peer(1000));
  });
  uint64_t deferred = 0;
  for (uint64_t i = 0; i < 20000; ++i) {
    if (t.Learn(Mac(i % 4000), Port::Peer(i % 4), kT0 + std::chrono::microseconds(i)) ==
        LearnResult::kDeferred) {
      ++deferred;
    }
  }
  stop.store(true);
  remover.join();
  EXPECT_EQ(t.stats().deferred, deferred);
}

// For TSan: workers look up and learn (moving addresses between peers) while the control
// thread expires and removes peers. Checks the table's invariants afterwards.
TEST(MacTableTest, ConcurrentLearnLookupExpireRemove) {
  constexpr size_t kCapacity = 1024;
  MacTable t(Small(kCapacity, seconds(10)));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> clock_ns{kT0.time_since_epoch().count()};
  auto now = [&] { return TimePoint(Duration(clock_ns.load(std::memory_order_relaxed))); };
  std::atomic<uint64_t> found{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      uint64_t x = 0x9e3779b97f4a7c15ULL * (w + 1);
      for (int i = 0; i < 200000 && !stop.load(std::memory_order_relaxed); ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const MacAddress mac = Mac(x % 3000);
        if (i % 4 == 0) {
          (void)t.Learn(mac, Port::Peer(x % 5), now(), /*wait=*/i % 64 == 0);
        } else if (auto p = t.Lookup(mac, now()); p.has_value()) {
          EXPECT_LT(p->peer(), 5u);
          found.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  std::thread control([&] {
    for (int i = 0; i < 300 && !stop.load(); ++i) {
      clock_ns.fetch_add(std::chrono::nanoseconds(seconds(1)).count() / 10);
      (void)t.Expire(now());
      if (i % 10 == 0) (void)t.RemovePort(Port::Peer(i % 5));
      (void)t.Entries(now());
      std::this_thread::yield();
    }
  });
  for (auto& th : workers) th.join();
  stop.store(true);
  control.join();
  const MacTableStats s = t.stats();
  EXPECT_LE(s.size, kCapacity);
  EXPECT_EQ(s.size, t.Entries(TimePoint(Duration(0))).size());  // nothing expired at 0
  EXPECT_GT(found.load(), 0u);
  // Every entry learned is still there or was counted leaving.
  EXPECT_EQ(s.learned, s.size + s.evicted + s.evicted_chain + s.expired + s.removed);
  // And the table still works.
  EXPECT_EQ(t.Learn(Mac(5000), Port::Tap(), now(), true), LearnResult::kLearned);
  EXPECT_EQ(t.Lookup(Mac(5000), now()), Port::Tap());
}

}  // namespace
}  // namespace tundra::l2
