// SecretString: a std::string whose memory is wiped before it is freed (every reallocation
// too), for text that can hold key material: UAPI lines, config files, `tundra strip` output.
#pragma once

#include <memory>
#include <string>

#include "tundra/base/bytes.h"

namespace tundra {

template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) {}  // NOLINT: allocator rebinding
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n) {
    SecureZero(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  friend bool operator==(const WipingAllocator&, const WipingAllocator&) { return true; }
};

using SecretString = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

}  // namespace tundra
