#include "tundra/testing/test_util.h"

#include <fstream>
#include <sstream>

#include "tundra/base/bytes.h"

namespace tundra::testing {

std::string VectorPath(const std::string& file) {
  return std::string(TUNDRA_VECTORS_DIR) + "/" + file;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    std::abort();
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json LoadVectorJson(const std::string& file) {
  return nlohmann::json::parse(ReadFileOrDie(VectorPath(file)));
}

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  if (hex.size() % 2 != 0 || !ParseHex(hex, out)) {
    ADD_FAILURE() << "bad hex in test data: " << hex;
    std::abort();
  }
  return out;
}

bool SkippingForbidden() {
  const char* v = std::getenv("TUNDRA_NO_SKIP");
  return v != nullptr && std::string(v) == "1";
}

std::string WhyNoTunAccess() {
  if (geteuid() != 0) return "needs root (CAP_NET_ADMIN)";
  if (access("/dev/net/tun", R_OK | W_OK) != 0) return "/dev/net/tun is not accessible";
  return {};
}

bool InRecordedPrivateNetns() {
  const char* recorded = std::getenv("TUNDRA_PRIVATE_NETNS");
  char buf[256] = {};
  ssize_t n = ::readlink("/proc/self/ns/net", buf, sizeof(buf) - 1);
  return recorded != nullptr && n > 0 && std::string(buf, size_t(n)) == recorded;
}

}  // namespace tundra::testing
