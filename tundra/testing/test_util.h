// Helpers for tundra's tests (linked only into test binaries).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tundra::testing {

// Absolute path of a test-vector file in the repository's tests/vectors/ (e.g. "x25519.json").
std::string VectorPath(const std::string& file);
// Whole file as a string; aborts the test with a message if unreadable.
std::string ReadFileOrDie(const std::string& path);
// A test-vector file from tests/vectors/ (e.g. "x25519.json"), parsed.
nlohmann::json LoadVectorJson(const std::string& file);
// Hex string -> bytes (aborts on bad hex: test data is trusted).
std::vector<uint8_t> FromHex(const std::string& hex);

// True when system tests may not be skipped (CI sets TUNDRA_NO_SKIP=1).
bool SkippingForbidden();
// Empty when the process can create TUN devices (root + /dev/net/tun); else why not.
std::string WhyNoTunAccess();
// True only inside the private network namespace a runner made and recorded in
// TUNDRA_PRIVATE_NETNS (tests/netns/tun_netns_run.sh): fails safe where /proc/1 is unreadable.
bool InRecordedPrivateNetns();

}  // namespace tundra::testing

// At the top of a test that needs root and /dev/net/tun: skips (locally) or fails (CI).
#define TUNDRA_REQUIRE_TUN_ACCESS()                                                        \
  do {                                                                                     \
    std::string tundra_why_ = ::tundra::testing::WhyNoTunAccess();                         \
    if (!tundra_why_.empty()) {                                                            \
      if (::tundra::testing::SkippingForbidden()) FAIL() << "cannot run: " << tundra_why_; \
      GTEST_SKIP() << tundra_why_;                                                         \
    }                                                                                      \
  } while (0)
