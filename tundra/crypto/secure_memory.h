// Memory for objects that hold key material (keypairs, peers' handshake state), kept out of
// core dumps: it comes from chunks mapped with mmap and marked madvise(MADV_DONTDUMP), and
// every block is wiped when freed. Defence in depth behind RLIMIT_CORE 0 and a non-dumpable
// daemon (docs/security.md), for a core collector that ignores both.
//
//   auto keypair = crypto::MakeSecureShared<proto::Keypair>(keys, now);
//
// Blocks are rounded up to a 64-byte size class and recycled within their class; chunks are
// never unmapped (the set of live key objects is bounded by the peer limit). Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <new>

namespace tundra::crypto {

// At least `bytes` bytes, 64-byte aligned, in MADV_DONTDUMP memory. Aborts when out of memory
// (as operator new without exceptions).
void* AllocateSecure(size_t bytes);
// Wipes and recycles a block from AllocateSecure of the same `bytes`.
void FreeSecure(void* p, size_t bytes);

template <typename T>
struct SecureAllocator {
  using value_type = T;
  SecureAllocator() = default;
  template <typename U>
  SecureAllocator(const SecureAllocator<U>&) {}  // NOLINT: rebinding, as std::allocator
  T* allocate(size_t n) { return static_cast<T*>(AllocateSecure(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { FreeSecure(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const SecureAllocator<U>&) const {
    return true;
  }
};

// std::make_shared in secure memory (the control block too).
template <typename T, typename... Args>
std::shared_ptr<T> MakeSecureShared(Args&&... args) {
  return std::allocate_shared<T>(SecureAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace tundra::crypto
