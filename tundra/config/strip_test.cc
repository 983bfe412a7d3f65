#include "tundra/config/strip.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "tundra/config/test_files.h"
#include "tundra/testing/test_util.h"

namespace tundra::config {
namespace {

using namespace ::tundra::config::testing;  // NOLINT: test keys and TempDir

constexpr char kWgQuick[] = "/usr/bin/wg-quick";

std::string StripText(const std::string& text, const ParseOptions& options = {}) {
  auto file = TokenizeIni("wg0.conf", text);
  EXPECT_TRUE(file.ok()) << file.error().message();
  if (!file.ok()) return "";
  auto config = ParseConfig(*file, options);
  EXPECT_TRUE(config.ok()) << config.error().message();
  if (!config.ok()) return "";
  const SecretString out = Strip(*file, *config);
  return std::string(out.data(), out.size());
}

// Files in the wg-quick format (no tundra keys), to strip with both.
const std::vector<std::string>& WgQuickFiles() {
  static const std::vector<std::string> files = {
      // every wg-quick key, comments, odd spacing and case
      std::string("# tunnel to the lab\n[Interface]\n  PrivateKey = ") + kPrivate1 +
          "  # key\nAddress = 198.19.0.1/24, fd19::1/64\naddress=198.19.1.1/32\n"
          "\tListenPort\t=\t51820\nmtu = 1380\nDNS = 198.18.0.53, example.test\n"
          "Table = off\nFwMark = 0x10\nPreUp = echo %i\nPostUp = echo up # c\n"
          "PreDown = echo pd\nPOSTDOWN = echo down\nSaveConfig = false\n\n"
          "[Peer]\nPublicKey = " +
          kPublic2 + "\nPresharedKey = " + kPsk +
          "\nAllowedIPs = 198.19.0.2/32, fd19::2/128\nAllowedIPs = 198.19.8.0/21\n"
          "Endpoint = 198.18.0.2:51821\nPersistentKeepalive = 25\n",
      // peers only, CRLF line ends, no final newline
      std::string("[Peer]\r\nPublicKey = ") + kPublic2 + "\r\nEndpoint = [fd18::2]:1\r\n" +
          "[peer]\r\nPublicKey = " + kPublic3 + "\r\nAllowedIPs = 0.0.0.0/0, ::/0",
      // an empty file, and one of blank lines and comments
      "",
      "\n\n# nothing\n   \n",
      // a trailing line of spaces without a newline
      std::string("[Interface]\nPrivateKey = ") + kPrivate1 + "\nMTU = 1420\n   ",
  };
  return files;
}

// Runs `wg-quick strip path` and returns its stdout (and its exit status in `status`).
std::string WgQuickStrip(const std::string& path, int& status) {
  const std::string command = std::string(kWgQuick) + " strip '" + path + "' 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    status = -1;
    return "";
  }
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  status = ::pclose(pipe);
  return out;
}

TEST(StripTest, SameAsWgQuickStrip) {
  // wg-quick re-runs itself under sudo when not root; it must be there and we must be root.
  std::string why;
  if (::access(kWgQuick, X_OK) != 0) why = std::string(kWgQuick) + " is not installed";
  if (why.empty() && ::geteuid() != 0) why = "wg-quick strip needs root";
  if (!why.empty()) {
    if (::tundra::testing::SkippingForbidden()) FAIL() << "cannot run: " << why;
    GTEST_SKIP() << why;
  }
  TempDir dir;
  int index = 0;
  for (const std::string& text : WgQuickFiles()) {
    const std::string path = dir.Write(fmt::format("wgs{}.conf", index++), text);
    int status = 0;
    const std::string theirs = WgQuickStrip(path, status);
    ASSERT_EQ(status, 0) << text;
    EXPECT_EQ(StripText(text), theirs) << "file:\n" << text;
  }
}

TEST(StripTest, ExactOutput) {
  const std::string text = std::string("[Interface]\n  PrivateKey = ") + kPrivate1 +
                           " # k\nAddress = 198.19.0.1/24\nListenPort = 1\n[Peer]\n"
                           "PublicKey = " +
                           kPublic2 + "\n";
  EXPECT_EQ(StripText(text), std::string("[Interface]\nPrivateKey = ") + kPrivate1 +
                                 " # k\nListenPort = 1\n[Peer]\nPublicKey = " + kPublic2 + "\n\n");
}

TEST(StripTest, TundraKeysGoAndKeyFilesBecomeKeys) {
  TempDir dir;
  dir.Write("k", std::string(kPrivate1) + "\n", 0600);
  dir.Write("psk", std::string(kPsk) + "\n", 0600);
  const std::string text = std::string("[Interface]\nPrivateKeyFile = k\nUser = nobody\n") +
                           "PeerUp = echo %k\nPeerDown = echo %k\nListenPort = 2\n[Peer]\n" +
                           "PublicKey = " + kPublic2 + "\nPresharedKeyFile = psk\n" +
                           "PeerUp = echo up\nAllowedIPs = 198.19.0.2\n";
  EXPECT_EQ(StripText(text, ParseOptions{dir.path()}),
            std::string("[Interface]\nPrivateKey = ") + kPrivate1 + "\nListenPort = 2\n[Peer]\n" +
                "PublicKey = " + kPublic2 + "\nPresharedKey = " + kPsk +
                "\nAllowedIPs = 198.19.0.2\n\n");
}

}  // namespace
}  // namespace tundra::config
