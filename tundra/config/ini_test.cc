#include "tundra/config/ini.h"

#include <gtest/gtest.h>

namespace tundra::config {
namespace {

std::string S(const SecretString& s) { return std::string(s.data(), s.size()); }

TEST(IniTest, SectionsKeysValuesCommentsAndWhitespaceAsWgQuick) {
  auto file = TokenizeIni("wg0.conf",
                          "# a comment\n"
                          "  [interface]  # any case\n"
                          "\tListenPort=51820\r\n"
                          "PostUp = echo a=b  # rest is a comment\n"
                          "\n"
                          "[PEER]\n"
                          "AllowedIPs =\n"
                          "Endpoint   =   h:1");
  ASSERT_TRUE(file.ok()) << file.error().message();
  const auto& l = file->lines;
  ASSERT_EQ(l.size(), 8u);
  EXPECT_EQ(l[0].kind, IniLine::Kind::kBlank);
  EXPECT_EQ(l[0].section, Section::kNone);
  EXPECT_EQ(l[1].kind, IniLine::Kind::kSection);
  EXPECT_EQ(l[1].section, Section::kInterface);
  EXPECT_EQ(l[2].number, 3u);
  EXPECT_EQ(S(l[2].key), "ListenPort");
  EXPECT_EQ(S(l[2].value), "51820");  // CR trimmed as [[:space:]]
  EXPECT_EQ(S(l[2].raw), "\tListenPort=51820\r");
  EXPECT_EQ(S(l[3].key), "PostUp");
  EXPECT_EQ(S(l[3].value), "echo a=b");  // split at the first '='
  EXPECT_EQ(l[4].section, Section::kInterface);
  EXPECT_EQ(l[5].section, Section::kPeer);
  EXPECT_EQ(S(l[6].value), "");
  EXPECT_EQ(l[7].number, 8u);  // last line without '\n'
  EXPECT_EQ(S(l[7].value), "h:1");
}

TEST(IniTest, BaseSixtyFourPaddingStaysInTheValue) {
  auto file = TokenizeIni("x", "[Peer]\nPublicKey = abc=\n");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(S(file->lines[1].value), "abc=");
}

TEST(IniTest, StructuralErrorsNameFileAndLineAndNotTheText) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"[Interface]\n[Peers]\n", "wg0.conf:2: unknown section header (want [Interface] or [Peer])"},
      {"[Interface]\n\nsecretword\n", "wg0.conf:3: not a 'Key = Value' line"},
      {"ListenPort = 1\n", "wg0.conf:1: a key before any [Interface] or [Peer] line"},
      {"[Peer]\n = x\n", "wg0.conf:2: a '=' without a key before it"},
      {"[Interface] x\n", "wg0.conf:1: unknown section header (want [Interface] or [Peer])"},
  };
  for (const Case& c : cases) {
    auto file = TokenizeIni("wg0.conf", c.text);
    ASSERT_FALSE(file.ok()) << c.text;
    EXPECT_EQ(file.error().message(), c.error);
  }
}

TEST(IniTest, ShowableNames) {
  EXPECT_TRUE(IsShowableName("AllowedIP"));
  EXPECT_FALSE(IsShowableName(""));
  EXPECT_FALSE(IsShowableName("Allowed IPs"));
  EXPECT_FALSE(IsShowableName("WMIbYwtxBN5Qm2yNK1bVTf6tqGt"));  // long: could be key text
  EXPECT_FALSE(IsShowableName("a+b/c"));
}

TEST(IniTest, ReadIniFileNamesAMissingFile) {
  auto file = ReadIniFile("/nonexistent/wg0.conf");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().message(), "open /nonexistent/wg0.conf: No such file or directory");
}

}  // namespace
}  // namespace tundra::config
