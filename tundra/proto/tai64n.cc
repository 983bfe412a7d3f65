#include "tundra/proto/tai64n.h"

#include <cstring>

#include "tundra/base/bytes.h"

namespace tundra::proto {
namespace {
constexpr uint64_t kTai64Base = (uint64_t{1} << 62) + 10;
constexpr int64_t kWhitenerMask = (int64_t{1} << 24) - 1;
}  // namespace

Tai64n Tai64nNow(WallTime now) {
  Tai64n t;
  StoreBe64(t.data(), kTai64Base + uint64_t(now.sec));
  StoreBe32(t.data() + 8, uint32_t(now.nsec & ~kWhitenerMask));
  return t;
}

bool Tai64nIsNewer(const Tai64n& a, const Tai64n& b) {
  return std::memcmp(a.data(), b.data(), a.size()) > 0;
}

}  // namespace tundra::proto
