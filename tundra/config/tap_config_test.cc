// TAP mode's keys (docs/l2.md, "Configuration"): Mode, SwitchMode, Forward, MACTableSize,
// MACExpiry, AllowedMACs; what they give ToDeviceUpdate; and the errors of each.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include "tundra/config/config.h"
#include "tundra/config/strip.h"
#include "tundra/config/test_files.h"

namespace tundra::config {
namespace {

using namespace ::tundra::config::testing;  // NOLINT: test keys

Result<TunnelConfig> Parse(const std::string& text) {
  TUNDRA_ASSIGN_OR_RETURN(IniFile file, TokenizeIni("wg0.conf", text));
  return ParseConfig(file);
}

std::string ErrorOf(const std::string& text) {
  auto config = Parse(text);
  if (config.ok()) return "(parsed)";
  return config.error().message();
}

l2::MacPrefix Mac(std::string_view text) {
  auto p = l2::ParseMacPrefix(text);
  EXPECT_TRUE(p.has_value()) << text;
  return p.has_value() ? *p : l2::MacPrefix{};
}

const std::string kIface = std::string("[Interface]\nPrivateKey = ") + kPrivate1 + "\n";
const std::string kTap = kIface + "Mode = tap\n";  // lines 1-3
const std::string kPeer = std::string("[Peer]\nPublicKey = ") + kPublic2 + "\n";

TEST(TapConfigTest, EveryTapKeyParses) {
  const std::string text = kTap +
                           "SwitchMode = hub\n"
                           "Forward = yes\n"
                           "MACTableSize = 1024\n"
                           "MACExpiry = 300\n"
                           "Address = 198.19.0.1/24\n" +
                           kPeer +
                           "AllowedMACs = 52:54:00:12:34:56, 02:00:00:00:00:00/8\n"
                           "AllowedMACs = 52:54:00:00:00:00/24\n"
                           "allowedmacs = 52:54:00:12:34:56\n"  // a repeat is kept once
                           "[Peer]\nPublicKey = " +
                           kPublic3 + "\nEndpoint = 198.18.0.3:51820\n";
  auto config = Parse(text);
  ASSERT_TRUE(config.ok()) << config.error().message();
  const InterfaceConfig& c = config->interface;
  EXPECT_TRUE(c.tap);
  EXPECT_EQ(c.switch_mode, l2::Mode::kHub);
  EXPECT_EQ(c.forward, true);
  EXPECT_EQ(c.mac_table_size, 1024u);
  EXPECT_EQ(c.mac_expiry, 300u);
  const l2::MacTableOptions table = MacTableOptionsOf(c);
  EXPECT_EQ(table.capacity, 1024u);
  EXPECT_EQ(table.expiry, std::chrono::seconds(300));
  ASSERT_EQ(config->peers.size(), 2u);
  EXPECT_EQ(config->peers[0].allowed_macs,
            (std::vector<l2::MacPrefix>{Mac("52:54:00:12:34:56"), Mac("02:00:00:00:00:00/8"),
                                        Mac("52:54:00:00:00:00/24")}));
  EXPECT_TRUE(config->peers[1].allowed_macs.empty());

  auto u = ToDeviceUpdate(*config);
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(u->switch_mode, l2::Mode::kHub);
  EXPECT_EQ(u->forward, true);
  ASSERT_EQ(u->peers.size(), 2u);
  EXPECT_TRUE(u->peers[0].replace_allowed_macs);
  EXPECT_EQ(u->peers[0].allowed_macs, config->peers[0].allowed_macs);
  EXPECT_TRUE(u->peers[0].allowed_ips.empty());
  // A peer without AllowedMACs: its list is replaced by none (a reload that removes them).
  EXPECT_TRUE(u->peers[1].replace_allowed_macs);
  EXPECT_TRUE(u->peers[1].allowed_macs.empty());
}

TEST(TapConfigTest, DefaultsAndSpellings) {
  auto tun = Parse(kIface + kPeer);
  ASSERT_TRUE(tun.ok());
  EXPECT_FALSE(tun->interface.tap);
  auto tun_u = ToDeviceUpdate(*tun);
  ASSERT_TRUE(tun_u.ok());
  // A TUN-mode update carries none of TAP mode's settings (the device refuses them).
  EXPECT_FALSE(tun_u->switch_mode.has_value());
  EXPECT_FALSE(tun_u->forward.has_value());
  EXPECT_FALSE(tun_u->peers[0].replace_allowed_macs);
  EXPECT_FALSE(Parse(kIface + "Mode = TUN\n")->interface.tap);

  auto tap = Parse(kIface + "mode = TAP\n" + kPeer);
  ASSERT_TRUE(tap.ok()) << tap.error().message();
  EXPECT_TRUE(tap->interface.tap);
  EXPECT_FALSE(tap->interface.switch_mode.has_value());
  const l2::MacTableOptions table = MacTableOptionsOf(tap->interface);
  EXPECT_EQ(table.capacity, l2::kDefaultMacTableSize);
  EXPECT_EQ(table.expiry, l2::kDefaultMacExpiry);
  auto u = ToDeviceUpdate(*tap);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->switch_mode, l2::Mode::kSwitch);  // the defaults, so a reload resets them
  EXPECT_EQ(u->forward, false);

  for (const char* yes : {"yes", "YES", "true", "on"}) {
    EXPECT_EQ(Parse(kTap + "Forward = " + yes + "\n")->interface.forward, true) << yes;
  }
  for (const char* no : {"no", "False", "off"}) {
    EXPECT_EQ(Parse(kTap + "Forward = " + no + "\n")->interface.forward, false) << no;
  }
  EXPECT_EQ(Parse(kTap + "SwitchMode = Switch\n")->interface.switch_mode, l2::Mode::kSwitch);
  // Mode may come after the keys that need it.
  auto late =
      Parse(kIface + "Forward = yes\nMode = tap\n" + kPeer + "AllowedMACs = 00:00:00:00:00:00/0\n");
  ASSERT_TRUE(late.ok()) << late.error().message();
  EXPECT_EQ(late->peers[0].allowed_macs.size(), 1u);
  // The bounds themselves are accepted.
  EXPECT_TRUE(Parse(kTap + "MACTableSize = 16\nMACExpiry = 10\n").ok());
  EXPECT_TRUE(Parse(kTap + "MACTableSize = 1048576\nMACExpiry = 86400\n").ok());
  EXPECT_EQ(Parse(kTap + "MTU = 65514\n")->interface.mtu, 65514);
  EXPECT_EQ(Parse(kIface + "MTU = 65535\n")->interface.mtu, 65535);  // TUN: as before
}

struct BadCase {
  std::string text;
  std::string error;
};

TEST(TapConfigTest, EveryErrorNamesFileLineSectionAndKey) {
  const BadCase cases[] = {
      {kIface + "Mode = l2\n", "wg0.conf:3: [Interface] Mode: 'l2' is not tun or tap"},
      {kTap + "SwitchMode = router\n",
       "wg0.conf:4: [Interface] SwitchMode: 'router' is not switch or hub"},
      {kTap + "Forward = maybe\n", "wg0.conf:4: [Interface] Forward: 'maybe' is not yes or no"},
      {kTap + "MACTableSize = 15\n",
       "wg0.conf:4: [Interface] MACTableSize: MAC table size 15 is outside 16..1048576"},
      {kTap + "MACTableSize = 1048577\n",
       "wg0.conf:4: [Interface] MACTableSize: MAC table size 1048577 is outside 16..1048576"},
      {kTap + "MACTableSize = many\n",
       "wg0.conf:4: [Interface] MACTableSize: 'many' is not a number of entries"},
      {kTap + "MACExpiry = 9\n",
       "wg0.conf:4: [Interface] MACExpiry: MAC expiry 9 s is outside 10..86400 s"},
      {kTap + "MACExpiry = 86401\n",
       "wg0.conf:4: [Interface] MACExpiry: MAC expiry 86401 s is outside 10..86400 s"},
      {kTap + "MACExpiry = 10m\n", "wg0.conf:4: [Interface] MACExpiry: '10m' is not seconds"},
      {kTap + "Mode = tap\n", "wg0.conf:4: [Interface] Mode: given twice (also at line 3)"},
      {kTap + "AllowedMACs = 52:54:00:00:00:01\n",
       "wg0.conf:4: [Interface] AllowedMACs: belongs in [Peer]"},
      {kTap + kPeer + "SwitchMode = hub\n",
       "wg0.conf:6: [Peer] SwitchMode: belongs in [Interface]"},
      {kTap + kPeer + "AllowedMACs = 52:54:00:00:00:01/24\n",
       "wg0.conf:6: [Peer] AllowedMACs: '52:54:00:00:00:01/24' has bits set beyond its /24 "
       "prefix (did you mean 52:54:00:00:00:00/24?)"},
      {kTap + kPeer + "AllowedMACs = 52:54:00:00:00:00/49\n",
       "wg0.conf:6: [Peer] AllowedMACs: '52:54:00:00:00:00/49': the prefix length must be a "
       "number from 0 to 48"},
      {kTap + kPeer + "AllowedMACs = 52:54:00:00:00:01,,52:54:00:00:00:02\n",
       "wg0.conf:6: [Peer] AllowedMACs: an empty item in the list"},
      {kTap + kPeer + "AllowedMACs =\n", "wg0.conf:6: [Peer] AllowedMACs: no value"},
      // Keys that need Mode = tap, in a TUN-mode file (explicit or by default).
      {kIface + "SwitchMode = hub\n", "wg0.conf:3: [Interface] SwitchMode: only with Mode = tap"},
      {kIface + "Mode = tun\nForward = yes\n",
       "wg0.conf:4: [Interface] Forward: only with Mode = tap"},
      {kIface + "MACTableSize = 64\n",
       "wg0.conf:3: [Interface] MACTableSize: only with Mode = tap"},
      {kIface + "MACExpiry = 60\n", "wg0.conf:3: [Interface] MACExpiry: only with Mode = tap"},
      {kIface + kPeer + "AllowedMACs = 52:54:00:00:00:01\n",
       "wg0.conf:5: [Peer] AllowedMACs: only with Mode = tap"},
      {kTap + "MTU = 65515\n",
       "wg0.conf:4: [Interface] MTU: the TAP's MTU must be 576-65514 with Mode = tap"},
      // AllowedIPs in a TAP-mode file (also an empty one).
      {kTap + kPeer + "AllowedIPs = 198.19.0.2/32\n",
       "wg0.conf:6: [Peer] AllowedIPs: has no effect with Mode = tap (AllowedMACs restricts "
       "sources; addresses and routes belong to the TAP's Address)"},
      {kTap + kPeer + "Endpoint = 198.18.0.2:1\n[Peer]\nPublicKey = " + kPublic3 +
           "\nAllowedIPs =\n",
       "wg0.conf:9: [Peer] AllowedIPs: has no effect with Mode = tap (AllowedMACs restricts "
       "sources; addresses and routes belong to the TAP's Address)"},
  };
  for (const BadCase& c : cases) EXPECT_EQ(ErrorOf(c.text), c.error) << c.text;
}

TEST(TapConfigTest, AllowedMacsAreBoundedPerPeer) {
  std::string text = kTap + kPeer;
  for (int i = 0; i < int(l2::kMaxAllowedMacs); ++i) {
    text += fmt::format("AllowedMACs = 52:54:00:00:{:02x}:{:02x}\n", i / 256, i % 256);
  }
  auto full = Parse(text);
  ASSERT_TRUE(full.ok()) << full.error().message();
  EXPECT_EQ(full->peers[0].allowed_macs.size(), l2::kMaxAllowedMacs);
  text += "AllowedMACs = 52:54:00:00:ff:ff\n";
  EXPECT_EQ(ErrorOf(text), fmt::format("wg0.conf:{}: [Peer] AllowedMACs: AllowedMACs: more than "
                                       "256 entries for one peer",
                                       6 + l2::kMaxAllowedMacs));
}

TEST(TapConfigTest, StripDropsTheTapKeys) {
  const std::string text = kTap + "SwitchMode = hub\nForward = yes\nMACTableSize = 64\n" +
                           "MACExpiry = 60\n" + kPeer + "AllowedMACs = 52:54:00:00:00:01\n" +
                           "Endpoint = 198.18.0.2:51820\n";
  auto file = TokenizeIni("wg0.conf", text);
  ASSERT_TRUE(file.ok());
  auto config = ParseConfig(*file);
  ASSERT_TRUE(config.ok()) << config.error().message();
  const SecretString out = Strip(*file, *config);
  EXPECT_EQ(std::string(out.data(), out.size()),
            std::string("[Interface]\nPrivateKey = ") + kPrivate1 +
                "\n[Peer]\nPublicKey = " + kPublic2 + "\nEndpoint = 198.18.0.2:51820\n\n");
}

}  // namespace
}  // namespace tundra::config
