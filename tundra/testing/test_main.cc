// main() of every tundra gtest binary: gtest_main, except that a skipped test is not a pass.
// Some tests passed and none failed but some skipped: exit 77, which ctest reports as "Skipped"
// under the test's name (SKIP_RETURN_CODE). With TUNDRA_NO_SKIP=1 (CI) a skip is a failure.
#include <gtest/gtest.h>

#include <cstdio>

#include "tundra/testing/test_util.h"

namespace {
constexpr int kExitSkipped = 77;  // ctest's SKIP_RETURN_CODE, as automake's
}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  int skipped = testing::UnitTest::GetInstance()->skipped_test_count();
  if (rc != 0 || skipped == 0) return rc;
  if (tundra::testing::SkippingForbidden()) {
    std::fprintf(stderr, "%d test(s) skipped, and TUNDRA_NO_SKIP=1 forbids skipping\n", skipped);
    return 1;
  }
  std::fprintf(stderr, "%d test(s) skipped (listed above as SKIPPED)\n", skipped);
  return kExitSkipped;
}
