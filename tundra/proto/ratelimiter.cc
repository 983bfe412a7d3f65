#include "tundra/proto/ratelimiter.h"

#include <algorithm>
#include <cstring>

#include "tundra/proto/constants.h"

namespace tundra::proto {
namespace {

constexpr int64_t kPacketCost = 1'000'000'000 / kRateLimitPacketsPerSecond;  // ns per packet
constexpr int64_t kMaxTokens = kPacketCost * kRateLimitBurst;

}  // namespace

size_t RateLimiter::KeyHash::operator()(const Key& k) const {
  return size_t(crypto::ShortHash(key, k));
}

RateLimiter::RateLimiter(const Clock& clock, size_t max_entries)
    : clock_(clock),
      max_entries_(max_entries),
      entries_(0, KeyHash{crypto::RandomShortHashKey()}) {}

bool RateLimiter::Allow(ByteSpan address) {
  Key key{};
  if (address.size() == 4) {
    key[0] = 4;
    std::memcpy(key.data() + 1, address.data(), 4);
  } else if (address.size() == 16) {
    key[0] = 6;
    std::memcpy(key.data() + 1, address.data(), 8);  // the /64
  } else {
    return false;
  }
  const TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= max_entries_) return false;
    entries_.emplace(key, Entry{kMaxTokens - kPacketCost, now});
    return true;
  }
  Entry& e = it->second;
  e.tokens += (now - e.last).count();
  e.last = now;
  if (e.tokens > kMaxTokens) e.tokens = kMaxTokens;
  if (e.tokens >= kPacketCost) {
    e.tokens -= kPacketCost;
    return true;
  }
  return false;
}

void RateLimiter::GarbageCollect() {
  const TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  if (now - last_gc_ < kRateLimitGcAfter) return;
  last_gc_ = now;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now - it->second.last > kRateLimitGcAfter) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t RateLimiter::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

size_t RateLimiter::max_bucket_size() const {
  std::lock_guard lock(mu_);
  size_t largest = 0;
  for (size_t b = 0; b < entries_.bucket_count(); ++b) {
    largest = std::max(largest, entries_.bucket_size(b));
  }
  return largest;
}

}  // namespace tundra::proto
