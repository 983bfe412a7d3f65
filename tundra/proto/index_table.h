// Random 32-bit receiver indices -> value (kernel peer_lookup.c index hashtable).
//
// A handshake registers a fresh index; when the session begins, its keypair takes the index
// over (Replace). Messages name their receiver by this index, so lookups are on the receive
// hot path. Thread-safe: a shared_mutex (lookups shared, changes exclusive).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>

#include "tundra/crypto/random.h"

namespace tundra::proto {

template <typename Value>
class IndexTable {
 public:
  // Registers `value` under a fresh random non-zero index and returns it.
  uint32_t Insert(Value value) {
    std::unique_lock lock(mu_);
    for (;;) {
      uint32_t index = crypto::RandomU32();
      if (index == 0 || map_.count(index) != 0) continue;
      map_.emplace(index, std::move(value));
      return index;
    }
  }
  // Sets the value of an existing index; false when the index is not registered.
  bool Replace(uint32_t index, Value value) {
    std::unique_lock lock(mu_);
    auto it = map_.find(index);
    if (it == map_.end()) return false;
    it->second = std::move(value);
    return true;
  }
  void Remove(uint32_t index) {
    std::unique_lock lock(mu_);
    map_.erase(index);
  }
  std::optional<Value> Lookup(uint32_t index) const {
    std::shared_lock lock(mu_);
    auto it = map_.find(index);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  size_t size() const {
    std::shared_lock lock(mu_);
    return map_.size();
  }

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<uint32_t, Value> map_;
};

}  // namespace tundra::proto
