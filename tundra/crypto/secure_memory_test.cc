#include "tundra/crypto/secure_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tundra/crypto/secret.h"

namespace tundra::crypto {
namespace {

// The VmFlags of the mapping holding `p`, from /proc/self/smaps ("dd" = do not dump).
std::string VmFlagsOf(const void* p) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= addr && addr < hi;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line.substr(8) + " ";
    }
  }
  return "";
}

bool ExcludedFromCoreDumps(const void* p) { return VmFlagsOf(p).find(" dd ") != std::string::npos; }

TEST(SecureMemoryTest, BlocksAreExcludedFromCoreDumps) {
  void* small = AllocateSecure(100);
  void* large = AllocateSecure(100 * 1024);  // its own mapping
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small) % 64, 0u);
  EXPECT_TRUE(ExcludedFromCoreDumps(small)) << VmFlagsOf(small);
  EXPECT_TRUE(ExcludedFromCoreDumps(large)) << VmFlagsOf(large);
  std::vector<uint8_t> heap(100);
  EXPECT_FALSE(ExcludedFromCoreDumps(heap.data())) << "the check itself must be able to fail";
  FreeSecure(small, 100);
  FreeSecure(large, 100 * 1024);
}

TEST(SecureMemoryTest, FreedBlocksAreWipedAndReused) {
  auto* p = static_cast<uint8_t*>(AllocateSecure(200));
  std::memset(p, 0xA5, 200);
  FreeSecure(p, 200);
  for (size_t i = 0; i < 200; ++i) ASSERT_EQ(p[i], 0) << i;  // still mapped: the arena's
  void* again = AllocateSecure(200);
  EXPECT_EQ(again, p);  // recycled within its size class
  FreeSecure(again, 200);
}

struct Holder {
  explicit Holder(uint8_t fill) { key.data()[0] = fill; }
  SymmetricKey key;
};

TEST(SecureMemoryTest, MakeSecureSharedPlacesObjectAndControlBlock) {
  auto h = MakeSecureShared<Holder>(7);
  EXPECT_EQ(h->key.data()[0], 7);
  EXPECT_TRUE(ExcludedFromCoreDumps(h.get()));
  std::weak_ptr<Holder> w = h;
  h.reset();
  EXPECT_TRUE(w.expired());
}

TEST(SecureMemoryTest, ConcurrentAllocateAndFree) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 2000; ++i) {
        const size_t n = 32 + size_t((i * 37 + t) % 900);
        auto* p = static_cast<uint8_t*>(AllocateSecure(n));
        std::memset(p, t + 1, n);
        for (size_t k = 0; k < n; ++k) ASSERT_EQ(p[k], t + 1);
        FreeSecure(p, n);
      }
    });
  }
  for (auto& th : threads) th.join();
}

}  // namespace
}  // namespace tundra::crypto
