#include "tundra/base/result.h"

#include <cstdio>

namespace tundra::internal {

[[noreturn]] void ResultAccessFailure(const char* what) {
  std::fprintf(stderr, "tundra: bad Result access: %s\n", what);
  std::abort();
}

}  // namespace tundra::internal
