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
  const config::TunnelConfig c = Parse(text);
  s.tap = c.interface.tap;
  s.switch_mode = u.switch_mode.value_or(l2::Mode::kSwitch);
  s.forward = u.forward.value_or(false);
  if (s.tap) {
    s.mac_capacity = config::MacTableOptionsOf(c.interface).capacity;
    s.mac_expiry = config::MacTableOptionsOf(c.interface).expiry;
  }
  for (const auto& p : u.peers) {
    device::PeerStatus ps;
    ps.transport_mode = p.transport.value_or(s.transport);
    ps.public_key = p.public_key;
    if (p.preshared_key) ps.preshared_key = *p.preshared_key;
    ps.endpoint = p.endpoint;
    ps.persistent_keepalive = p.persistent_keepalive.value_or(0);
    for (const auto& a : p.allowed_ips) ps.allowed_ips.push_back(a.prefix.Masked());
    ps.allowed_macs = p.allowed_macs;
    ps.compression = p.compression.value_or(compress::Setting{});
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

TEST(SyncUpdateTest, CompressionChangesAreSent) {
  auto with = [](const std::string& interface_lines, const std::string& peer2_lines) {
    std::string t = kBase;
    t.insert(t.find("[Peer]"), interface_lines);
    return t + peer2_lines;
  };
  // Unchanged files with compression send nothing.
  for (const std::string& f : {with("Compression = lz4\n", ""), with("", "Compression = zstd:3\n"),
                               with("Compression = zstd\n", "Compression = none\n")}) {
    EXPECT_TRUE(IsEmpty(SyncUpdate(RunningAs(f), Update(f)))) << f;
  }
  // The interface's default: every peer without its own setting.
  const std::string lz4 = with("Compression = lz4\n", "Compression = none\n");
  device::DeviceUpdate u = SyncUpdate(RunningAs(kBase), Update(lz4));
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(u.peers[0].public_key, *crypto::KeyFromBase64(kPub1));
  EXPECT_EQ(Text(u), "set=1\npublic_key=" + Hex(kPub1) + "\ntundra_compression=lz4\n\n");
  // A level change of one peer's zstd is sent (the device keeps the session for it).
  u = SyncUpdate(RunningAs(with("", "Compression = zstd:3\n")),
                 Update(with("", "Compression = zstd:9\n")));
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(u.peers[0].compression, (compress::Setting{compress::Algorithm::kZstd, 9}));
  // Removed from the file: none again, for both peers of the lz4 interface.
  u = SyncUpdate(RunningAs(with("Compression = lz4\n", "")), Update(kBase));
  ASSERT_EQ(u.peers.size(), 2u);
  for (const auto& p : u.peers) EXPECT_EQ(p.compression, compress::Setting{});
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

const std::string kTapBase = std::string("[Interface]\nPrivateKey = ") + kPriv +
                             "\nListenPort = 51820\nMode = tap\nAddress = 198.19.0.1/24\n"
                             "[Peer]\nPublicKey = " +
                             kPub1 +
                             "\nAllowedMACs = 52:54:00:00:00:01, 52:54:01:00:00:00/24\n"
                             "Endpoint = 198.18.0.2:51820\n"
                             "[Peer]\nPublicKey = " +
                             kPub2 + "\n";

TEST(SyncUpdateTest, TapModeUnchangedFileSendsNothing) {
  const device::DeviceUpdate u = SyncUpdate(RunningAs(kTapBase), Update(kTapBase));
  EXPECT_TRUE(IsEmpty(u)) << Text(u);
  // The same set in another order is no change either.
  device::DeviceStatus running = RunningAs(kTapBase);
  std::swap(running.peers[0].allowed_macs[0], running.peers[0].allowed_macs[1]);
  EXPECT_TRUE(IsEmpty(SyncUpdate(running, Update(kTapBase))));
  EXPECT_TRUE(CheckFixedSettings(running, Parse(kTapBase), "tap0").ok());
}

TEST(SyncUpdateTest, TapModeSwitchForwardAndAllowedMacsChangesAreSent) {
  std::string changed = kTapBase;
  changed.replace(changed.find("Mode = tap\n"), 11,
                  "Mode = tap\nSwitchMode = hub\nForward = yes\n");
  changed += "AllowedMACs = 02:00:00:00:00:00/8\n";  // peer 2 gets a list
  EXPECT_EQ(Text(SyncUpdate(RunningAs(kTapBase), Update(changed))),
            "set=1\ntundra_switch=hub\ntundra_forward=true\npublic_key=" + Hex(kPub2) +
                "\ntundra_replace_allowed_macs=true\ntundra_allowed_mac=02:00:00:00:00:00/8\n\n");
  // Back to the defaults: sent as such (a key left out of the file is its default); peer 1's
  // list cleared.
  std::string cleared = kTapBase;
  cleared.replace(cleared.find("AllowedMACs"),
                  cleared.find("Endpoint") - cleared.find("AllowedMACs"), "");
  device::DeviceStatus running = RunningAs(changed);
  const device::DeviceUpdate u = SyncUpdate(running, Update(cleared));
  EXPECT_EQ(Text(u), "set=1\ntundra_switch=switch\ntundra_forward=false\npublic_key=" + Hex(kPub1) +
                         "\ntundra_replace_allowed_macs=true\npublic_key=" + Hex(kPub2) +
                         "\ntundra_replace_allowed_macs=true\n\n");
  EXPECT_FALSE(IsEmpty(u));
  // A new peer comes in full, with its AllowedMACs.
  const std::string added =
      kTapBase + "[Peer]\nPublicKey = " + kPub3 + "\nAllowedMACs = 52:54:00:00:00:09\n";
  EXPECT_EQ(Text(SyncUpdate(RunningAs(kTapBase), Update(added))),
            "set=1\npublic_key=" + Hex(kPub3) +
                "\nreplace_allowed_ips=true\ntundra_replace_allowed_macs=true\n"
                "tundra_allowed_mac=52:54:00:00:00:09\n\n");
}

TEST(SyncUpdateTest, ModeAndMacTableChangesNeedDownUp) {
  const std::string tun = kBase;
  auto error = [](const device::DeviceStatus& running, const std::string& text) {
    Status s = CheckFixedSettings(running, Parse(text), "tap0");
    return s.ok() ? std::string("(ok)") : s.error().message();
  };
  EXPECT_EQ(error(RunningAs(tun), kTapBase),
            "syncconf tap0: Mode = tap in the file, but the interface runs with Mode = tun: Mode "
            "cannot change on a running interface; it needs tundra down tap0 and tundra up tap0");
  EXPECT_EQ(error(RunningAs(kTapBase), tun),
            "syncconf tap0: Mode = tun in the file, but the interface runs with Mode = tap: Mode "
            "cannot change on a running interface; it needs tundra down tap0 and tundra up tap0");
  std::string sized = kTapBase;
  sized.replace(sized.find("Mode = tap\n"), 11, "Mode = tap\nMACTableSize = 64\n");
  EXPECT_EQ(error(RunningAs(kTapBase), sized),
            "syncconf tap0: MACTableSize = 64 in the file, but the interface runs with 8192 "
            "entries: MACTableSize cannot change on a running interface; it needs tundra down "
            "tap0 and tundra up tap0");
  std::string expiring = kTapBase;
  expiring.replace(expiring.find("Mode = tap\n"), 11, "Mode = tap\nMACExpiry = 60\n");
  EXPECT_EQ(error(RunningAs(kTapBase), expiring),
            "syncconf tap0: MACExpiry = 60 in the file, but the interface runs with 600 s: "
            "MACExpiry cannot change on a running interface; it needs tundra down tap0 and "
            "tundra up tap0");
  EXPECT_EQ(error(RunningAs(sized), sized), "(ok)");
  EXPECT_EQ(error(RunningAs(tun), tun), "(ok)");  // TUN mode: nothing more to check
}

TEST(SavedConfigTest, TapModeKeysComeBack) {
  std::string text = kTapBase;
  text.replace(text.find("Mode = tap\n"), 11, "Mode = tap\nMACTableSize = 64\nMACExpiry = 60\n");
  const config::TunnelConfig file = Parse(text);
  device::DeviceStatus running = RunningAs(text);
  running.switch_mode = l2::Mode::kHub;  // set over UAPI since
  running.forward = true;
  const SecretString saved =
      SavedConfig(file, running, {*routing::IpPrefix::Parse("198.19.0.1/24")});
  const std::string expected =
      std::string("[Interface]\nAddress = 198.19.0.1/24\nPrivateKey = ") + kPriv +
      "\nListenPort = 51820\nMode = tap\nSwitchMode = hub\nForward = yes\nMACTableSize = 64\n"
      "MACExpiry = 60\n\n[Peer]\nPublicKey = " +
      kPub1 +
      "\nAllowedMACs = 52:54:00:00:00:01, 52:54:01:00:00:00/24\nEndpoint = 198.18.0.2:51820\n"
      "\n[Peer]\nPublicKey = " +
      kPub2 + "\n";
  EXPECT_EQ(std::string(saved.data(), saved.size()), expected);
  auto again = config::TokenizeIni("saved.conf", std::string(saved.data(), saved.size()));
  ASSERT_TRUE(again.ok());
  auto parsed = config::ParseConfig(*again);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->interface.switch_mode, l2::Mode::kHub);
  EXPECT_EQ(parsed->peers[0].allowed_macs.size(), 2u);
}

}  // namespace
}  // namespace tundra::cli::up
