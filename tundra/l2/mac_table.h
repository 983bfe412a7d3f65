// The MAC table of a TAP-mode switch: source MAC -> the port it was learned on (the local TAP
// or a peer), with expiry, a bounded size and counted evictions (docs/l2.md, "MAC table").
//
// Time is an argument (TimePoint now, as tundra/proto's timers take it); the table never reads
// a clock. Memory is allocated once, at construction (capacity entries and 2×capacity buckets,
// rounded up to a power of two): Learn and Lookup never allocate.
//
// Concurrency (several data-path workers look up and learn at once; the control thread
// expires and removes):
//   - The buckets are striped over kMacTableShards reader-writer locks (RwMutex, writer-
//     preferring). Lookup and the common case of Learn (a known source on the same port,
//     renewed less than kMacRefreshInterval ago) take one stripe shared: a read only.
//   - Every write (learn, move, renewal, eviction, expiry, peer removal) holds writer_mu_, which
//     orders writers and owns the LRU list and the free list, and then takes one stripe
//     exclusively for one O(1) step at a time (link, unlink, update of one entry; an unlink
//     walks at most kMaxMacChain entries). So a reader waits for at most one such step, never
//     for a sweep: Expire and RemovePort release the stripe between entries.
//   - Learn on the data path never waits for writer_mu_: when another writer holds it, the
//     learning is skipped (counted as deferred) and happens on that source's next frame;
//     forwarding stays correct meanwhile (an unknown destination is flooded).
//   - No retry loops anywhere (a seqlock's reader loop was rejected for that reason); every
//     loop a lookup runs is bounded by kMaxMacChain.
// Lock order: writer_mu_, then one stripe; never two stripes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "tundra/base/clock.h"
#include "tundra/base/result.h"
#include "tundra/base/rw_mutex.h"
#include "tundra/l2/constants.h"
#include "tundra/l2/frame.h"

namespace tundra::l2 {

// The device's name for a peer (opaque here; the device maps it back, e.g. its peer id).
using PeerKey = uint64_t;

// Where a MAC lives: behind the local TAP, or behind a peer.
class Port {
 public:
  static constexpr Port Tap() { return Port(true, 0); }
  static constexpr Port Peer(PeerKey key) { return Port(false, key); }
  constexpr bool is_tap() const { return is_tap_; }
  constexpr PeerKey peer() const { return peer_; }
  constexpr bool operator==(const Port&) const = default;

 private:
  constexpr Port(bool tap, PeerKey key) : peer_(key), is_tap_(tap) {}
  PeerKey peer_ = 0;
  bool is_tap_ = true;
};

struct MacTableOptions {
  size_t capacity = kDefaultMacTableSize;  // kMinMacTableSize..kMaxMacTableSize
  Duration expiry = kDefaultMacExpiry;     // kMinMacExpiry..kMaxMacExpiry
  // Seeds the bucket hash so that which MACs share a chain is unpredictable to a peer choosing
  // source addresses. The device passes a random value; tests a fixed one.
  uint64_t hash_seed = 0;
};
// An error naming the bound (for MACTableSize / MACExpiry in a config file).
Status ValidateMacTableOptions(const MacTableOptions& options);

enum class LearnResult : uint8_t {
  kKnown,     // already learned on this port, renewed recently: nothing written
  kRenewed,   // already learned on this port: its time renewed
  kLearned,   // new (or expired) entry
  kMoved,     // was learned on another port: now on this one (counted)
  kDeferred,  // another writer held the table: not learned this time (counted)
  kIgnored,   // not a valid source address (zero, group): never learned
};

struct MacTableStats {
  size_t size = 0;
  uint64_t learned = 0;
  uint64_t moved = 0;
  uint64_t evicted = 0;        // live entries pushed out by a full table (oldest first)
  uint64_t evicted_chain = 0;  // live entries pushed out of a bucket chain at kMaxMacChain
  uint64_t expired = 0;
  uint64_t removed = 0;  // by RemovePort (peer removed)
  uint64_t deferred = 0;
};

class MacTable {
 public:
  // `options` must be valid (ValidateMacTableOptions); an invalid one aborts.
  explicit MacTable(const MacTableOptions& options);
  MacTable(const MacTable&) = delete;
  MacTable& operator=(const MacTable&) = delete;

  const MacTableOptions& options() const { return options_; }

  // The data path's call for every accepted frame's source. `wait` = false (the data path):
  // kDeferred instead of waiting for another writer; true (tests, control): wait for it.
  LearnResult Learn(MacAddress mac, Port port, TimePoint now, bool wait = false);
  // The port `mac` was learned on, unless that was `expiry` or longer ago.
  std::optional<Port> Lookup(MacAddress mac, TimePoint now) const;

  // Control path. Removes entries idle for `expiry`, oldest first, at most `max` of them:
  // O(number removed). Returns that number.
  size_t Expire(TimePoint now, size_t max = kMaxExpirePerPass);
  // Removes every entry learned on `port` (a peer was removed): O(size). Returns the number.
  size_t RemovePort(Port port);
  // RemovePort for several peers in one sweep (O(size + keys log keys)): a transaction that
  // removes many peers (`wg setconf`) sweeps the table once, not once per peer.
  size_t RemovePeers(std::vector<PeerKey> keys);

  struct Entry {
    MacAddress mac;
    Port port = Port::Tap();
    Duration age{0};
  };
  // Live entries, least recently renewed first (allocates: for `tundra show`, not the data path).
  std::vector<Entry> Entries(TimePoint now) const;

  size_t size() const { return size_.load(std::memory_order_relaxed); }
  MacTableStats stats() const;

  // The bucket `mac` hashes to (tests build colliding addresses with it).
  size_t BucketForTesting(MacAddress mac) const { return BucketOf(mac.value()); }

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  struct Node {
    // Under the node's stripe (written with it exclusive and writer_mu_ held).
    uint64_t mac = 0;
    Port port = Port::Tap();
    int64_t renewed_ns = 0;
    uint32_t chain_next = kNil;
    // Under writer_mu_ only (readers never follow these).
    uint32_t bucket = 0;
    uint32_t lru_prev = kNil;
    uint32_t lru_next = kNil;  // also the free list's link
  };
  struct alignas(64) Stripe {
    mutable RwMutex mu;
  };

  size_t BucketOf(uint64_t mac) const;
  RwMutex& StripeOf(size_t bucket) const { return stripes_[bucket & (kMacTableShards - 1)].mu; }
  uint32_t FindLocked(size_t bucket, uint64_t mac) const;  // stripe or writer_mu_ held
  bool IsExpired(const Node& n, int64_t now_ns) const;
  // writer_mu_ held.
  LearnResult LearnLocked(MacAddress mac, Port port, int64_t now_ns);
  int64_t RenewTime(int64_t now_ns) const;
  void LruUnlink(uint32_t i);
  void LruAppend(uint32_t i);
  void Remove(uint32_t i);  // unlinks from its chain (stripe exclusive), LRU; frees
  // The sweep of RemovePort/RemovePeers: every entry whose port `on_port` picks (O(size)).
  template <typename Pred>
  size_t RemoveWhere(Pred on_port);
  // Counts `i` as expired or as `evicted_counter`, then removes it.
  void RemoveForSpace(uint32_t i, int64_t now_ns, std::atomic<uint64_t>& evicted_counter);

  const MacTableOptions options_;
  const int64_t expiry_ns_;
  const size_t bucket_mask_;
  mutable Stripe stripes_[kMacTableShards];
  std::vector<uint32_t> buckets_;  // chain heads; each under its stripe
  std::vector<Node> nodes_;        // capacity entries, allocated once

  mutable std::mutex writer_mu_;
  uint32_t lru_head_ = kNil;  // oldest; under writer_mu_
  uint32_t lru_tail_ = kNil;  // newest
  uint32_t free_ = kNil;

  std::atomic<size_t> size_{0};
  std::atomic<uint64_t> learned_{0}, moved_{0}, evicted_{0}, evicted_chain_{0}, expired_{0},
      removed_{0};
  mutable std::atomic<uint64_t> deferred_{0};
};

}  // namespace tundra::l2
