// TUNDRA_CHECK: a broken invariant aborts (never turned into a recoverable error).
// TUNDRA_DCHECK: the same, compiled out in NDEBUG builds.
#pragma once

#include <cstdio>
#include <cstdlib>

#define TUNDRA_CHECK(cond)                                                          \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

#ifdef NDEBUG
#define TUNDRA_DCHECK(cond) \
  do {                      \
  } while (0 && (cond))
#else
#define TUNDRA_DCHECK(cond) TUNDRA_CHECK(cond)
#endif
