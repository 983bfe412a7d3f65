#include "tundra/l2/mac_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <shared_mutex>

#include "tundra/base/check.h"

namespace tundra::l2 {
namespace {

// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

size_t BucketCount(size_t capacity) {
  size_t n = kMacTableShards;
  while (n < 2 * capacity) n <<= 1;
  return n;
}

int64_t Ns(TimePoint t) { return t.time_since_epoch().count(); }

// Checked before anything is allocated for them.
const MacTableOptions& Checked(const MacTableOptions& options) {
  TUNDRA_CHECK(ValidateMacTableOptions(options).has_value());
  return options;
}

constexpr int64_t kRefreshNs =
    std::chrono::duration_cast<std::chrono::nanoseconds>(kMacRefreshInterval).count();

}  // namespace

Status ValidateMacTableOptions(const MacTableOptions& options) {
  if (options.capacity < kMinMacTableSize || options.capacity > kMaxMacTableSize) {
    return InvalidArgument(fmt::format("MAC table size {} is outside {}..{}", options.capacity,
                                       kMinMacTableSize, kMaxMacTableSize));
  }
  if (options.expiry < kMinMacExpiry || options.expiry > kMaxMacExpiry) {
    return InvalidArgument(
        fmt::format("MAC expiry {} s is outside {}..{} s",
                    std::chrono::duration_cast<std::chrono::seconds>(options.expiry).count(),
                    kMinMacExpiry.count(), kMaxMacExpiry.count()));
  }
  return {};
}

MacTable::MacTable(const MacTableOptions& options)
    : options_(Checked(options)),
      expiry_ns_(options.expiry.count()),
      bucket_mask_(BucketCount(options.capacity) - 1),
      buckets_(bucket_mask_ + 1, kNil),
      nodes_(options.capacity) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].lru_next = i + 1 < nodes_.size() ? uint32_t(i + 1) : kNil;
  }
  free_ = 0;
}

size_t MacTable::BucketOf(uint64_t mac) const {
  return Mix(mac ^ options_.hash_seed) & bucket_mask_;
}

uint32_t MacTable::FindLocked(size_t bucket, uint64_t mac) const {
  for (uint32_t i = buckets_[bucket]; i != kNil; i = nodes_[i].chain_next) {
    if (nodes_[i].mac == mac) return i;
  }
  return kNil;
}

bool MacTable::IsExpired(const Node& n, int64_t now_ns) const {
  return now_ns - n.renewed_ns >= expiry_ns_;
}

std::optional<Port> MacTable::Lookup(MacAddress mac, TimePoint now) const {
  const size_t b = BucketOf(mac.value());
  std::shared_lock lock(StripeOf(b));
  const uint32_t i = FindLocked(b, mac.value());
  if (i == kNil || IsExpired(nodes_[i], Ns(now))) return std::nullopt;
  return nodes_[i].port;
}

LearnResult MacTable::Learn(MacAddress mac, Port port, TimePoint now, bool wait) {
  if (!mac.is_valid_source()) return LearnResult::kIgnored;
  const int64_t now_ns = Ns(now);
  const size_t b = BucketOf(mac.value());
  {
    std::shared_lock lock(StripeOf(b));
    const uint32_t i = FindLocked(b, mac.value());
    if (i != kNil && nodes_[i].port == port && now_ns - nodes_[i].renewed_ns < kRefreshNs) {
      return LearnResult::kKnown;
    }
  }
  std::unique_lock writer(writer_mu_, std::defer_lock);
  if (wait) {
    writer.lock();
  } else if (!writer.try_lock()) {
    deferred_.fetch_add(1, std::memory_order_relaxed);
    return LearnResult::kDeferred;
  }
  return LearnLocked(mac, port, now_ns);
}

int64_t MacTable::RenewTime(int64_t now_ns) const {
  // Keeps the LRU list sorted by time although workers' `now` readings may arrive out of order.
  return lru_tail_ == kNil ? now_ns : std::max(now_ns, nodes_[lru_tail_].renewed_ns);
}

LearnResult MacTable::LearnLocked(MacAddress mac, Port port, int64_t now_ns) {
  const uint64_t key = mac.value();
  const size_t b = BucketOf(key);
  if (const uint32_t i = FindLocked(b, key); i != kNil) {
    Node& n = nodes_[i];
    LearnResult result = LearnResult::kRenewed;
    if (IsExpired(n, now_ns)) {
      expired_.fetch_add(1, std::memory_order_relaxed);
      learned_.fetch_add(1, std::memory_order_relaxed);
      result = LearnResult::kLearned;
    } else if (!(n.port == port)) {
      moved_.fetch_add(1, std::memory_order_relaxed);
      result = LearnResult::kMoved;
    } else if (now_ns - n.renewed_ns < kRefreshNs) {
      return LearnResult::kKnown;  // another writer renewed it since our look
    }
    LruUnlink(i);
    const int64_t t = RenewTime(now_ns);
    {
      std::unique_lock lock(StripeOf(b));
      n.port = port;
      n.renewed_ns = t;
    }
    LruAppend(i);
    return result;
  }

  // A new entry. Keep the chain short: at kMaxMacChain, its oldest entry makes room.
  size_t chain = 0;
  uint32_t oldest = kNil;
  for (uint32_t i = buckets_[b]; i != kNil; i = nodes_[i].chain_next) {
    ++chain;
    if (oldest == kNil || nodes_[i].renewed_ns < nodes_[oldest].renewed_ns) oldest = i;
  }
  if (chain >= kMaxMacChain) RemoveForSpace(oldest, now_ns, evicted_chain_);
  if (free_ == kNil) RemoveForSpace(lru_head_, now_ns, evicted_);
  TUNDRA_DCHECK(free_ != kNil);

  const uint32_t i = free_;
  Node& n = nodes_[i];
  free_ = n.lru_next;
  n.mac = key;
  n.port = port;
  n.renewed_ns = RenewTime(now_ns);
  n.bucket = uint32_t(b);
  {
    std::unique_lock lock(StripeOf(b));
    n.chain_next = buckets_[b];
    buckets_[b] = i;  // publishes the node to readers
  }
  LruAppend(i);
  size_.fetch_add(1, std::memory_order_relaxed);
  learned_.fetch_add(1, std::memory_order_relaxed);
  return LearnResult::kLearned;
}

void MacTable::LruUnlink(uint32_t i) {
  Node& n = nodes_[i];
  if (n.lru_prev != kNil) {
    nodes_[n.lru_prev].lru_next = n.lru_next;
  } else {
    lru_head_ = n.lru_next;
  }
  if (n.lru_next != kNil) {
    nodes_[n.lru_next].lru_prev = n.lru_prev;
  } else {
    lru_tail_ = n.lru_prev;
  }
  n.lru_prev = n.lru_next = kNil;
}

void MacTable::LruAppend(uint32_t i) {
  Node& n = nodes_[i];
  n.lru_prev = lru_tail_;
  n.lru_next = kNil;
  if (lru_tail_ != kNil) {
    nodes_[lru_tail_].lru_next = i;
  } else {
    lru_head_ = i;
  }
  lru_tail_ = i;
}

void MacTable::Remove(uint32_t i) {
  Node& n = nodes_[i];
  const size_t b = n.bucket;
  {
    std::unique_lock lock(StripeOf(b));
    uint32_t* link = &buckets_[b];
    while (*link != i) {
      TUNDRA_DCHECK(*link != kNil);
      link = &nodes_[*link].chain_next;
    }
    *link = n.chain_next;
  }
  // Unreachable for readers from here on: its fields are writer_mu_'s until it is reused.
  LruUnlink(i);
  n.chain_next = kNil;
  n.lru_next = free_;
  free_ = i;
  size_.fetch_sub(1, std::memory_order_relaxed);
}

void MacTable::RemoveForSpace(uint32_t i, int64_t now_ns, std::atomic<uint64_t>& evicted_counter) {
  (IsExpired(nodes_[i], now_ns) ? expired_ : evicted_counter)
      .fetch_add(1, std::memory_order_relaxed);
  Remove(i);
}

size_t MacTable::Expire(TimePoint now, size_t max) {
  const int64_t now_ns = Ns(now);
  std::lock_guard writer(writer_mu_);
  size_t n = 0;
  while (n < max && lru_head_ != kNil && IsExpired(nodes_[lru_head_], now_ns)) {
    Remove(lru_head_);
    ++n;
  }
  expired_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

template <typename Pred>
size_t MacTable::RemoveWhere(Pred on_port) {
  std::lock_guard writer(writer_mu_);
  size_t n = 0;
  for (uint32_t i = lru_head_; i != kNil;) {
    const uint32_t next = nodes_[i].lru_next;
    if (on_port(nodes_[i].port)) {
      Remove(i);
      ++n;
    }
    i = next;
  }
  removed_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

size_t MacTable::RemovePort(Port port) {
  return RemoveWhere([port](Port p) { return p == port; });
}

size_t MacTable::RemovePeers(std::vector<PeerKey> keys) {
  std::sort(keys.begin(), keys.end());
  return RemoveWhere([&keys](Port p) {
    return !p.is_tap() && std::binary_search(keys.begin(), keys.end(), p.peer());
  });
}

std::vector<MacTable::Entry> MacTable::Entries(TimePoint now) const {
  const int64_t now_ns = Ns(now);
  std::lock_guard writer(writer_mu_);
  std::vector<Entry> out;
  out.reserve(size());
  for (uint32_t i = lru_head_; i != kNil; i = nodes_[i].lru_next) {
    const Node& n = nodes_[i];
    if (IsExpired(n, now_ns)) continue;
    out.push_back(Entry{MacAddress::FromU64(n.mac), n.port,
                        Duration(std::max<int64_t>(0, now_ns - n.renewed_ns))});
  }
  return out;
}

MacTableStats MacTable::stats() const {
  MacTableStats s;
  s.size = size();
  s.learned = learned_.load(std::memory_order_relaxed);
  s.moved = moved_.load(std::memory_order_relaxed);
  s.evicted = evicted_.load(std::memory_order_relaxed);
  s.evicted_chain = evicted_chain_.load(std::memory_order_relaxed);
  s.expired = expired_.load(std::memory_order_relaxed);
  s.removed = removed_.load(std::memory_order_relaxed);
  s.deferred = deferred_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace tundra::l2
