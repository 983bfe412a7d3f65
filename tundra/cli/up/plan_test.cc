#include "tundra/cli/up/plan.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <set>

#include "tundra/config/ini.h"

namespace tundra::cli::up {
namespace {

constexpr char kPub1[] = "dX9SCRhzoSE1woL8yRvekqQ0a+SA8ERPiS6/H9zi2m8=";
constexpr char kPub2[] = "FELY6AdprhGz09W29ieAHOkk+q/nWNxe2mm00KoJKgk=";

config::TunnelConfig Parse(const std::string& interface_lines, const std::string& ips1,
                           const std::string& ips2 = "") {
  std::string text = "[Interface]\n" + interface_lines + "\n[Peer]\nPublicKey = " + kPub1 +
                     "\nAllowedIPs = " + ips1 + "\n";
  if (!ips2.empty())
    text += std::string("[Peer]\nPublicKey = ") + kPub2 + "\nAllowedIPs = " + ips2 + "\n";
  auto ini = config::TokenizeIni("t.conf", text);
  EXPECT_TRUE(ini.ok());
  auto c = config::ParseConfig(*ini);
  EXPECT_TRUE(c.ok()) << c.error().message();
  return *c;
}

routing::IpPrefix P(const char* s) { return *routing::IpPrefix::Parse(s); }

std::vector<std::string> Routes(const RoutePlan& plan) {
  std::vector<std::string> out;
  for (const auto& r : plan.routes)
    out.push_back(r.prefix.ToString() + " " + std::to_string(r.table));
  return out;
}

TEST(PlanRoutesTest, MostSpecificFirstSkippingCoveredPrefixes) {
  // The /24 kernel route of Address covers 198.19.0.2/32; the duplicate /16 is planned once;
  // host bits are cleared.
  auto c = Parse("Address = 198.19.0.1/24", "198.19.0.2/32, 198.20.0.0/16, fd19::5/64",
                 "198.20.1.1/16, 198.19.7.0/24");
  RouteContext ctx;
  ctx.on_interface = {P("198.19.0.0/24")};
  const RoutePlan plan = PlanRoutes(c, ctx);
  EXPECT_EQ(Routes(plan),
            (std::vector<std::string>{"fd19::/64 254", "198.19.7.0/24 254", "198.20.0.0/16 254"}));
  EXPECT_TRUE(plan.rules.empty());
  EXPECT_FALSE(plan.fwmark);
  EXPECT_FALSE(plan.ipv4_default);
}

TEST(PlanRoutesTest, ARouteAddedEarlierCoversALaterOne) {
  auto c = Parse("", "198.19.0.0/16", "198.19.0.0/16");
  EXPECT_EQ(Routes(PlanRoutes(c, {})), (std::vector<std::string>{"198.19.0.0/16 254"}));
}

TEST(PlanRoutesTest, DefaultRoutesGetTheFirstFreeTableFwmarkAndRules) {
  auto c = Parse("", "0.0.0.0/0, ::/0, 198.19.5.0/24");
  RouteContext ctx;
  std::set<uint32_t> used = {51820, 51821};
  ctx.table_in_use = [&](uint32_t t) { return used.count(t) != 0; };
  const RoutePlan plan = PlanRoutes(c, ctx);
  EXPECT_EQ(plan.fwmark, 51822u);
  EXPECT_TRUE(plan.ipv4_default);
  EXPECT_EQ(Routes(plan),
            (std::vector<std::string>{"198.19.5.0/24 254", "0.0.0.0/0 51822", "::/0 51822"}));
  ASSERT_EQ(plan.rules.size(), 4u);
  for (int i = 0; i < 4; i += 2) {
    const netlink::Rule& not_marked = plan.rules[i];
    const netlink::Rule& suppress = plan.rules[i + 1];
    EXPECT_EQ(not_marked.family, i == 0 ? AF_INET : AF_INET6);
    EXPECT_TRUE(not_marked.invert);
    EXPECT_EQ(not_marked.fwmark, 51822u);
    EXPECT_EQ(not_marked.table, 51822u);
    EXPECT_FALSE(not_marked.suppress_prefixlength);
    EXPECT_EQ(suppress.family, not_marked.family);
    EXPECT_FALSE(suppress.invert);
    EXPECT_FALSE(suppress.fwmark);
    EXPECT_EQ(suppress.table, netlink::kMainTable);
    EXPECT_EQ(suppress.suppress_prefixlength, 0u);
  }
}

TEST(PlanRoutesTest, FwMarkOfTheFileIsTheTable) {
  auto c = Parse("FwMark = 0x1234", "::/0");
  const RoutePlan plan = PlanRoutes(c, {});
  EXPECT_FALSE(plan.fwmark);  // the device already gets it from the file
  EXPECT_FALSE(plan.ipv4_default);
  EXPECT_EQ(Routes(plan), (std::vector<std::string>{"::/0 4660"}));
  ASSERT_EQ(plan.rules.size(), 2u);
  EXPECT_EQ(plan.rules[0].fwmark, 0x1234u);
  EXPECT_EQ(plan.rules[0].family, AF_INET6);
}

TEST(PlanRoutesTest, TableOffAndNumber) {
  EXPECT_TRUE(PlanRoutes(Parse("Table = off", "0.0.0.0/0, 198.19.0.0/24"), {}).routes.empty());
  RouteContext ctx;
  ctx.on_interface = {P("198.19.0.0/24")};  // no "covered" check with an explicit table
  const RoutePlan plan = PlanRoutes(Parse("Table = 1234", "0.0.0.0/0, 198.19.0.0/24"), ctx);
  EXPECT_EQ(Routes(plan), (std::vector<std::string>{"198.19.0.0/24 1234", "0.0.0.0/0 1234"}));
  EXPECT_TRUE(plan.rules.empty());
  EXPECT_FALSE(plan.fwmark);
}

TEST(AutoMtuTest, LowestMinus80) {
  EXPECT_EQ(AutoMtu({1500, 1400, 9000}), 1320);
  EXPECT_EQ(AutoMtu({65536}), 65456);   // loopback, as wg-quick's recorded run
  EXPECT_EQ(AutoMtu({0, 1500}), 1420);  // unknown ones are skipped
  EXPECT_EQ(AutoMtu({}), 1420);
}

TEST(LocateConfigTest, PathsAndNames) {
  std::set<std::string> files = {"/etc/wireguard/wg1.conf", "/etc/tundra/wg2.conf",
                                 "/etc/wireguard/wg2.conf"};
  auto exists = [&](const std::string& p) { return files.count(p) != 0; };
  auto a = LocateConfig("/tmp/x/tun7.conf", exists);
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->path, "/tmp/x/tun7.conf");
  EXPECT_EQ(a->ifname, "tun7");
  EXPECT_EQ(LocateConfig("tun8.conf", exists)->ifname, "tun8");
  EXPECT_EQ(LocateConfig("wg1", exists)->path, "/etc/wireguard/wg1.conf");
  EXPECT_EQ(LocateConfig("wg2", exists)->path, "/etc/tundra/wg2.conf");  // tundra's first
  EXPECT_EQ(LocateConfig("wg3", exists).error().message(),
            "no config for 'wg3' (looked for /etc/tundra/wg3.conf, /etc/wireguard/wg3.conf)");
  EXPECT_EQ(LocateConfig("/tmp/x/wg0", exists).error().message(),
            "config file '/tmp/x/wg0': its name must be IFNAME.conf (the interface is named "
            "after it)");
  EXPECT_FALSE(LocateConfig("/tmp/thisnameiswaytoolong.conf", exists).ok());
  EXPECT_FALSE(LocateConfig("a b", exists).ok());
}

TEST(AutoMtuTest, TapModeIsTheTapsMtu) {
  EXPECT_EQ(AutoMtu({}, true), 1399);  // 1500 - 80 = 1420, minus 3 + 14 + 4
  EXPECT_EQ(AutoMtu({1500, 1400}, true), 1400 - 80 - 21);
  EXPECT_EQ(AutoMtu({1400}, false), 1320);
}

config::TunnelConfig ParseText(const std::string& text) {
  auto ini = config::TokenizeIni("t.conf", text);
  EXPECT_TRUE(ini.ok());
  auto c = config::ParseConfig(*ini);
  EXPECT_TRUE(c.ok()) << c.error().message();
  return c.ok() ? *c : config::TunnelConfig{};
}

TEST(PlanRoutesTest, TapModeAddsNoPeerRoutes) {
  config::TunnelConfig c =
      ParseText(std::string("[Interface]\nMode = tap\nAddress = 198.19.0.1/24\n"
                            "[Peer]\nPublicKey = ") +
                kPub1 + "\n");
  ASSERT_TRUE(c.interface.tap);
  // The parser refuses AllowedIPs with Mode = tap; should one get here, it routes nothing.
  c.peers[0].allowed_ips = {P("198.19.5.0/24"), P("0.0.0.0/0")};
  const RoutePlan plan = PlanRoutes(c, {});
  EXPECT_TRUE(plan.routes.empty());
  EXPECT_TRUE(plan.rules.empty());
  EXPECT_FALSE(plan.fwmark.has_value());
  c.interface.tap = false;  // the same peers in TUN mode do get routes
  EXPECT_FALSE(PlanRoutes(c, {}).routes.empty());
}

TEST(DaemonArgsTest, UserHooksAndTapMode) {
  const std::string peer = std::string("[Peer]\nPublicKey = ") + kPub1 + "\nPeerUp = echo one\n";
  EXPECT_EQ(DaemonArgs(ParseText("[Interface]\nUser = nobody\nPeerUp = echo up\n" + peer)),
            (std::vector<std::string>{"--user", "nobody", "--peer-up", "echo up", "--peer-up-for",
                                      std::string(kPub1) + ":echo one"}));
  EXPECT_EQ(DaemonArgs(ParseText("[Interface]\nMode = tap\n")),
            (std::vector<std::string>{"--mode", "tap"}));
  EXPECT_EQ(
      DaemonArgs(
          ParseText("[Interface]\nMode = tap\nMACTableSize = 64\nMACExpiry = 30\nForward = yes\n")),
      (std::vector<std::string>{"--mode", "tap", "--mac-table-size", "64", "--mac-expiry", "30"}));
  EXPECT_TRUE(DaemonArgs(ParseText("[Interface]\nMode = tun\n")).empty());
}

}  // namespace
}  // namespace tundra::cli::up
