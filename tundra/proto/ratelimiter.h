// Per-source token bucket for handshake messages, consulted only under load (kernel
// ratelimiter.c, wireguard-go ratelimiter/). 20 per second with a burst of 5; IPv4 sources
// are keyed by address, IPv6 by /64. Idle entries are garbage collected after a second; past
// `max_entries` sources, new ones are refused (fail closed). The table is hashed with SipHash
// under a random key per limiter (kernel ratelimiter.c), so sources cannot be chosen to collide.
//
// Thread-safe (one mutex: it only runs under load, on the handshake path).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "tundra/base/bytes.h"
#include "tundra/base/clock.h"
#include "tundra/crypto/shorthash.h"

namespace tundra::proto {

class RateLimiter {
 public:
  // `clock` must outlive this object.
  explicit RateLimiter(const Clock& clock, size_t max_entries = 65536);

  // `address` is 4 (IPv4) or 16 (IPv6) bytes.
  bool Allow(ByteSpan address);
  // Drops entries idle for more than a second. Cheap when called more often.
  void GarbageCollect();
  size_t size() const;
  // Entries in the fullest bucket of the table (the hash-spread regression test).
  size_t max_bucket_size() const;

 private:
  struct Entry {
    int64_t tokens;
    TimePoint last;
  };
  using Key = std::array<uint8_t, 9>;  // family tag + 4 or 8 address bytes
  struct KeyHash {
    crypto::ShortHashKey key;
    size_t operator()(const Key& k) const;
  };

  const Clock& clock_;
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<Key, Entry, KeyHash> entries_;  // guarded by mu_
  TimePoint last_gc_{};                              // guarded by mu_
};

}  // namespace tundra::proto
