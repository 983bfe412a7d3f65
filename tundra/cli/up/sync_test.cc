#include "tundra/cli/up/sync.h"

#include <gtest/gtest.h>

#include "tundra/config/ini.h"
#include "tundra/crypto/key_text.h"
#include "tundra/uapi/protocol.h"

namespace tundra::cli::up {
namespace {

constexpr char kPriv[] = "WMIbYwtxBN5Qm2yNK1bVTf6tqGt+j+UkrUcm7gIM80k=";
constexpr char kPub1[] = "dX9SCRhzoSE1woL8yRvekqQ0a+SA8ERPiS6/H9zi2m8=";
constexpr char kPub2[] = "FELY6AdprhGz09W29ieAHOkk+q/nWNxe2mm00KoJKgk=";
constexpr char kPub3[] = "TVBXrlY9RpjpUu1s5+wES/M3BIfue+50ecQ0y35jQ2w=";
constexpr char kPsk[] = "pWLZqdFvCTn0PLISlbkb1MbEoB2oNmoZgcyzr5ywNCk=";

config::TunnelConfig Parse(const std::string& text) {
  auto ini = config::TokenizeIni("t.conf", text);
  EXPECT_TRUE(ini.ok());
  auto c = config::ParseConfig(*ini);
  EXPECT_TRUE(c.ok()) << c.error().message();
  return *c;
}

device::DeviceUpdate Update(const std::string& text) {
  auto u = config::ToDeviceUpdate(Parse(text));
  EXPECT_TRUE(u.ok()) << u.error().message();
  return *u;
}

// The running device as a fresh `up` of `text` leaves it (what get=1 reports).
device::DeviceStatus RunningAs(const std::string& text) {
  const device::DeviceUpdate u = Update(text);
  device::DeviceStatus s;
  s.private_key = u.private_key;
  s.listen_port = u.listen_port.value_or(0);
  s.fwmark = u.fwmark.value_or(0);
  s.transport = u.transport.value_or(transport::TransportMode::kUdp);
  if (u.tcp_port || s.transport != transport::TransportMode::kUdp) {
    s.tcp_listen_port = u.tcp_port.value_or(0) != 0 ? *u.tcp_port : s.listen_port;
  }
  for (const auto& p : u.peers) {
    device::PeerStatus ps;
    ps.transport_mode = p.transport.value_or(s.transport);
    ps.public_key = p.public_key;
    if (p.preshared_key) ps.preshared_key = *p.preshared_key;
    ps.endpoint = p.endpoint;
    ps.persistent_keepalive = p.persistent_keepalive.value_or(0);
    for (const auto& a : p.allowed_ips) ps.allowed_ips.push_back(a.prefix.Masked());
    ps.rx_bytes = 1000;  // a session in use
    s.peers.push_back(ps);
  }
  return s;
}

std::string Text(const device::DeviceUpdate& u) {
  const SecretString s = uapi::FormatSet(u);
  return std::string(s.data(), s.size());
}

std::string Hex(const char* b64) { return crypto::KeyToHex(*crypto::KeyFromBase64(b64)); }

const std::string kBase = std::string("[Interface]\nPrivateKey = ") + kPriv +
                          "\nListenPort = 51820\n"
                          "[Peer]\nPublicKey = " +
                          kPub1 +
                          "\nAllowedIPs = 198.19.0.2/32, fd19::2/128\nEndpoint = 198.18.0.2:51820\n"
                          "[Peer]\nPublicKey = " +
                          kPub2 + "\nAllowedIPs = 198.19.0.3/32\n";

TEST(SyncUpdateTest, UnchangedFileSendsNothing) {
  const device::DeviceUpdate u = SyncUpdate(RunningAs(kBase), Update(kBase));
  EXPECT_TRUE(IsEmpty(u)) << Text(u);
}

TEST(SyncUpdateTest, OnlyChangedPeersAndFieldsAreSent) {
  // Peer 1: one more allowed IP (replaced as a whole); peer 2: removed; peer 3: new; the
  // listen port changed; peer 1's endpoint unchanged, so not sent.
  const std::string changed = std::string("[Interface]\nPrivateKey = ") + kPriv +
                              "\nListenPort = 51821\n"
                              "[Peer]\nPublicKey = " +
                              kPub1 +
                              "\nAllowedIPs = 198.19.0.2/32, fd19::2/128, 198.19.9.0/24\n"
                              "Endpoint = 198.18.0.2:51820\n"
                              "[Peer]\nPublicKey = " +
                              kPub3 + "\nAllowedIPs = 198.19.0.4/32\nPersistentKeepalive = 25\n";
  const device::DeviceUpdate u = SyncUpdate(RunningAs(kBase), Update(changed));
  EXPECT_EQ(Text(u),
            "set=1\nlisten_port=51821\n"
            "public_key=" +
                Hex(kPub2) +
                "\nremove=true\n"
                "public_key=" +
                Hex(kPub1) +
                "\nreplace_allowed_ips=true\n"
                "allowed_ip=198.19.0.2/32\nallowed_ip=fd19::2/128\nallowed_ip=198.19.9.0/24\n"
                "public_key=" +
                Hex(kPub3) +
                "\npersistent_keepalive_interval=25\n"
                "replace_allowed_ips=true\nallowed_ip=198.19.0.4/32\n\n");
}

TEST(SyncUpdateTest, PskEndpointAndKeepaliveChangesAndRemovals) {
  device::DeviceStatus running = RunningAs(kBase);
  // Peer 2 runs with a psk and a keepalive the file no longer has.
  running.peers[1].preshared_key = crypto::SymmetricKey(*crypto::KeyFromBase64(kPsk));
  running.peers[1].persistent_keepalive = 25;
  // Peer 1 in the file moves to another endpoint, in another order of allowed IPs (same set).
  const std::string file =
      std::string("[Interface]\nPrivateKey = ") + kPriv +
      "\nListenPort = 51820\n"
      "[Peer]\nPublicKey = " +
      kPub1 +
      "\nAllowedIPs = fd19::2/128, 198.19.0.2/32\nEndpoint = 198.18.0.9:51820\n"
      "[Peer]\nPublicKey = " +
      kPub2 + "\nAllowedIPs = 198.19.0.3/32\n";
  const device::DeviceUpdate u = SyncUpdate(running, Update(file));
  EXPECT_EQ(Text(u),
            "set=1\n"
            "public_key=" +
                Hex(kPub1) +
                "\nendpoint=198.18.0.9:51820\n"
                "public_key=" +
                Hex(kPub2) + "\npreshared_key=" + std::string(64, '0') +
                "\npersistent_keepalive_interval=0\n\n");
}

TEST(SyncUpdateTest, PrivateKeyAndFwmark) {
  device::DeviceStatus running = RunningAs(kBase);
  running.private_key.reset();
  running.fwmark = 7;
  device::DeviceUpdate file = Update(kBase);
  file.fwmark = 7;  // same: not sent
  device::DeviceUpdate u = SyncUpdate(running, file);
  ASSERT_TRUE(u.private_key.has_value());
  EXPECT_FALSE(u.fwmark);
  file.fwmark = 8;
  EXPECT_EQ(SyncUpdate(running, file).fwmark, 8u);
}

TEST(SyncUpdateTest, ShapingChangesAreSentAndRemovedSpeedIsCleared) {
  device::DeviceStatus running = RunningAs(kBase);
  const std::string shaped = kBase + "Speed = 10000:2000\nBurst = 65536\n";  // on peer 2
  device::DeviceUpdate u = SyncUpdate(running, Update(shaped));
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(Text(u), "set=1\npublic_key=" + Hex(kPub2) +
                         "\ntundra_speed=10000:2000\ntundra_burst=65536\n\n");
  running.peers[1].shaping = {{10000, 2000}, 65536};
  EXPECT_TRUE(IsEmpty(SyncUpdate(running, Update(shaped))));
  // Speed gone from the file: the peer is set unlimited again.
  u = SyncUpdate(running, Update(kBase));
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(u.peers[0].speed, (device::Speed{0, 0}));
  EXPECT_EQ(u.peers[0].burst, 0u);
  EXPECT_EQ(Text(u), "set=1\npublic_key=" + Hex(kPub2) + "\ntundra_speed=0:0\ntundra_burst=0\n\n");
}

TEST(SyncUpdateTest, TransportChangesAreSent) {
  auto with = [](const std::string& interface_lines, const std::string& peer2_lines) {
    std::string t = kBase;
    t.insert(t.find("[Peer]"), interface_lines);
    return t + peer2_lines;
  };
  // Unchanged files with transports send nothing.
  for (const std::string& f : {with("Transport = auto\n", ""), with("", "Transport = tcp\n"),
                               with("Transport = tcp\nTcpPort = 51830\n", "Transport = udp\n")}) {
    EXPECT_TRUE(IsEmpty(SyncUpdate(RunningAs(f), Update(f)))) << f;
  }
  // The interface's default to tcp: it, and every peer that has no Transport of its own.
  const std::string tcp = with("Transport = tcp\n", "Transport = udp\n");
  device::DeviceUpdate u = SyncUpdate(RunningAs(kBase), Update(tcp));
  EXPECT_EQ(u.transport, transport::TransportMode::kTcp);
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(u.peers[0].public_key, *crypto::KeyFromBase64(kPub1));
  EXPECT_EQ(u.peers[0].transport, transport::TransportMode::kTcp);
  // Transport removed from the file: back to udp, for the interface and for peer 1.
  u = SyncUpdate(RunningAs(tcp), Update(kBase));
  EXPECT_EQ(u.transport, transport::TransportMode::kUdp);
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(u.peers[0].transport, transport::TransportMode::kUdp);
  // One peer's own Transport, and a new TcpPort.
  u = SyncUpdate(RunningAs(kBase), Update(with("TcpPort = 51830\n", "Transport = auto\n")));
  EXPECT_FALSE(u.transport);
  EXPECT_EQ(u.tcp_port, 51830);
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(u.peers[0].public_key, *crypto::KeyFromBase64(kPub2));
  EXPECT_EQ(u.peers[0].transport, transport::TransportMode::kAuto);
}

TEST(SavedConfigTest, RunningStateWithTheFilesSettings) {
  const config::TunnelConfig file =
      Parse(std::string("[Interface]\nPrivateKey = ") + kPriv +
            "\nAddress = 198.19.0.1/24\nDNS = 198.19.0.53, example.net\nMTU = 1400\nTable = off\n"
            "PostUp = echo up %i\nSaveConfig = true\n"
            "[Peer]\nPublicKey = " +
            kPub1 + "\nAllowedIPs = 198.19.0.2/32\nEndpoint = peer.example:51820\n");
  device::DeviceStatus running = RunningAs(kBase);  // peers 1 and 2, port 51820
  running.peers[0].endpoint = *transport::Endpoint::Parse("198.18.0.2:51820");
  running.peers[1].endpoint = *transport::Endpoint::Parse("[fd18::3]:4000");  // learned
  running.peers[1].persistent_keepalive = 15;
  running.peers[1].shaping = {{10000, 0}, 0};
  const SecretString text = SavedConfig(
      file, running,
      {*routing::IpPrefix::Parse("198.19.0.1/24"), *routing::IpPrefix::Parse("fd19::1/64")});
  const std::string expected =
      std::string("[Interface]\nAddress = 198.19.0.1/24\nAddress = fd19::1/64\nPrivateKey = ") +
      kPriv +
      "\nListenPort = 51820\nDNS = 198.19.0.53\nDNS = example.net\nMTU = 1400\nTable = off\n"
      "PostUp = echo up %i\nSaveConfig = true\n"
      "\n[Peer]\nPublicKey = " +
      kPub1 +
      "\nAllowedIPs = 198.19.0.2/32, fd19::2/128\nEndpoint = peer.example:51820\n"
      "\n[Peer]\nPublicKey = " +
      kPub2 +
      "\nAllowedIPs = 198.19.0.3/32\nEndpoint = [fd18::3]:4000\nPersistentKeepalive = 15\n"
      "Speed = 10000:0\n";
  EXPECT_EQ(std::string(text.data(), text.size()), expected);
  // And it is a config file again.
  auto again = config::TokenizeIni("saved.conf", std::string(text.data(), text.size()));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(config::ParseConfig(*again).ok());
}

}  // namespace
}  // namespace tundra::cli::up
