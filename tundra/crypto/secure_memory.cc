#include "tundra/crypto/secure_memory.h"

#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "tundra/base/bytes.h"
#include "tundra/base/check.h"

namespace tundra::crypto {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kChunkBytes = 256 * 1024;
constexpr size_t kMaxBlock = 16 * 1024;  // larger requests get their own mapping
constexpr size_t kClasses = kMaxBlock / kAlign;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

void* MapDontDump(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  TUNDRA_CHECK(p != MAP_FAILED);
  TUNDRA_CHECK(::madvise(p, bytes, MADV_DONTDUMP) == 0);
  return p;
}

class Arena {
 public:
  void* Allocate(size_t bytes) {
    const size_t size = RoundUp(bytes == 0 ? 1 : bytes, kAlign);
    if (size > kMaxBlock) return MapDontDump(RoundUp(size, kPage));
    std::lock_guard lock(mu_);
    auto& free = free_[size / kAlign - 1];
    if (!free.empty()) {
      void* p = free.back();
      free.pop_back();
      return p;
    }
    if (chunk_left_ < size) {
      chunk_ = static_cast<uint8_t*>(MapDontDump(kChunkBytes));
      chunk_left_ = kChunkBytes;
    }
    void* p = chunk_;
    chunk_ += size;
    chunk_left_ -= size;
    return p;
  }

  void Free(void* p, size_t bytes) {
    if (p == nullptr) return;
    const size_t size = RoundUp(bytes == 0 ? 1 : bytes, kAlign);
    SecureZero(p, size);
    if (size > kMaxBlock) {
      ::munmap(p, RoundUp(size, kPage));
      return;
    }
    std::lock_guard lock(mu_);
    free_[size / kAlign - 1].push_back(p);
  }

 private:
  static constexpr size_t kPage = 4096;
  std::mutex mu_;
  std::array<std::vector<void*>, kClasses> free_;  // guarded by mu_
  uint8_t* chunk_ = nullptr;                       // guarded by mu_
  size_t chunk_left_ = 0;                          // guarded by mu_
};

Arena& TheArena() {
  static Arena* arena = new Arena;  // never destroyed: blocks may be freed during exit
  return *arena;
}

}  // namespace

void* AllocateSecure(size_t bytes) { return TheArena().Allocate(bytes); }

void FreeSecure(void* p, size_t bytes) { TheArena().Free(p, bytes); }

}  // namespace tundra::crypto
