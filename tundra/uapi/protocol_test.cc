#include "tundra/uapi/protocol.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <random>

#include "tundra/crypto/x25519.h"

namespace tundra::uapi {
namespace {

const std::string kKey1 = std::string(62, 'a') + "01";
const std::string kKey2 = std::string(62, 'b') + "02";

SetRequest Parse(std::vector<std::string> lines) { return ParseSet(lines); }

TEST(UapiParseTest, EveryKey) {
  auto r = Parse({"private_key=" + kKey1, "listen_port=51820", "fwmark=4294967295",
                  "replace_peers=true", "public_key=" + kKey2, "update_only=true",
                  "preshared_key=" + kKey1, "endpoint=[fd18::2]:51821",
                  "persistent_keepalive_interval=25", "replace_allowed_ips=true",
                  "allowed_ip=198.19.0.2/32", "allowed_ip=fd19::2/128", "allowed_ip=-198.19.1.0/24",
                  "protocol_version=1", "public_key=" + kKey1, "remove=true"});
  ASSERT_EQ(r.error, 0) << r.error_detail;
  const auto& u = r.update;
  ASSERT_TRUE(u.private_key.has_value());
  EXPECT_EQ(ToHex(u.private_key->span()), kKey1);
  EXPECT_EQ(u.listen_port, 51820);
  EXPECT_EQ(u.fwmark, 4294967295u);
  EXPECT_TRUE(u.replace_peers);
  ASSERT_EQ(u.peers.size(), 2u);
  const auto& p = u.peers[0];
  EXPECT_EQ(ToHex(p.public_key), kKey2);
  EXPECT_TRUE(p.update_only);
  EXPECT_EQ(ToHex(p.preshared_key->span()), kKey1);
  EXPECT_EQ(p.endpoint->ToString(), "[fd18::2]:51821");
  EXPECT_EQ(p.persistent_keepalive, 25);
  EXPECT_TRUE(p.replace_allowed_ips);
  ASSERT_EQ(p.allowed_ips.size(), 3u);
  EXPECT_EQ(p.allowed_ips[0].prefix.ToString(), "198.19.0.2/32");
  EXPECT_FALSE(p.allowed_ips[0].remove);
  EXPECT_TRUE(p.allowed_ips[2].remove);
  EXPECT_EQ(p.allowed_ips[2].prefix.ToString(), "198.19.1.0/24");
  EXPECT_TRUE(u.peers[1].remove);
}

TEST(UapiParseTest, ErrnoForEachBadInput) {
  struct {
    std::vector<std::string> lines;
    int code;
  } cases[] = {
      {{"bogus_key=1"}, kErrnoInvalid},
      {{"private_key=zz"}, kErrnoInvalid},
      {{"private_key=" + kKey1 + "00"}, kErrnoInvalid},
      {{"listen_port=65536"}, kErrnoInvalid},
      {{"listen_port=-1"}, kErrnoInvalid},
      {{"listen_port="}, kErrnoInvalid},
      {{"fwmark=4294967296"}, kErrnoInvalid},
      {{"replace_peers=false"}, kErrnoInvalid},
      {{"no equals sign"}, kErrnoProtocol},
      {{"public_key=" + kKey1, "protocol_version=2"}, kErrnoInvalid},
      {{"public_key=" + kKey1, "endpoint=198.18.0.1"}, kErrnoInvalid},
      {{"public_key=" + kKey1, "allowed_ip=198.19.0.0/33"}, kErrnoInvalid},
      {{"public_key=" + kKey1, "persistent_keepalive_interval=70000"}, kErrnoInvalid},
      {{"public_key=" + kKey1, "remove=yes"}, kErrnoInvalid},
      {{"public_key=" + kKey1, "listen_port=1"}, kErrnoInvalid},  // device key after a peer
      {{"public_key=nothex"}, kErrnoInvalid},
  };
  for (const auto& c : cases) {
    auto r = Parse(c.lines);
    EXPECT_EQ(r.error, c.code) << c.lines.back();
    EXPECT_FALSE(r.error_detail.empty());
  }
  // Secrets are never echoed into the error text.
  auto r = Parse({"private_key=" + kKey1 + "x"});
  EXPECT_EQ(r.error_detail.find(kKey1), std::string::npos) << r.error_detail;
}

// A mistyped or misplaced line (maybe a key) reaches the error text as its line number and,
// when it looks like one, its key name: never a value.
TEST(UapiParseTest, ErrorTextsNameTheLineNeverItsValue) {
  const std::string hex = "389c0e5a7b21d4c86e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e60";
  const std::string b64 = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
  const std::vector<std::vector<std::string>> cases = {
      {"private_key " + hex},                                         // no '='
      {b64},                                                          // a base64 key as a line
      {"listen_port=" + hex},                                         // a value in the wrong key
      {"public_key=" + kKey2, "endpoint=" + hex},                     // ditto, in a peer
      {"public_key=" + kKey2, "allowed_ip=1.2.3.4/32", hex + "=1"}};  // a key as a key name
  for (const auto& lines : cases) {
    auto r = Parse(lines);
    EXPECT_NE(r.error, 0);
    EXPECT_EQ(r.error_detail.find(hex.substr(0, 12)), std::string::npos) << r.error_detail;
    EXPECT_EQ(r.error_detail.find(b64.substr(0, 12)), std::string::npos) << r.error_detail;
    EXPECT_EQ(r.error_detail.rfind(fmt::format("line {}: ", lines.size()), 0), 0u)
        << r.error_detail;
  }
  EXPECT_EQ(LoggableKey("listen_prot=1"), "listen_prot");
  EXPECT_EQ(LoggableKey(hex), "(not shown)");
}

TEST(UapiParseTest, LinesBeforeTheErrorAreKept) {
  auto r = Parse({"listen_port=5555", "public_key=" + kKey2, "allowed_ip=198.19.0.2/32",
                  "allowed_ip=bad", "allowed_ip=198.19.0.3/32"});
  EXPECT_EQ(r.error, kErrnoInvalid);
  EXPECT_EQ(r.update.listen_port, 5555);
  ASSERT_EQ(r.update.peers.size(), 1u);
  ASSERT_EQ(r.update.peers[0].allowed_ips.size(), 1u);  // only the line before the bad one
}

TEST(UapiFormatTest, GetOrderMatchesWireguardGo) {
  device::DeviceStatus s;
  crypto::PrivateKey k;
  k.data()[0] = 1;
  s.private_key = k;
  s.listen_port = 51999;
  device::PeerStatus p;
  p.public_key[0] = 2;
  p.endpoint = *transport::Endpoint::Parse("198.18.0.2:51998");
  p.last_handshake = {1700000000, 5};
  p.tx_bytes = 148;
  p.rx_bytes = 92;
  p.persistent_keepalive = 25;
  p.allowed_ips = {*routing::IpPrefix::Parse("198.19.0.2/32"),
                   *routing::IpPrefix::Parse("fd19::2/128")};
  s.peers.push_back(p);
  const std::string want = "private_key=01" + std::string(62, '0') + "\n" + "listen_port=51999\n" +
                           "public_key=02" + std::string(62, '0') + "\n" +
                           "preshared_key=" + std::string(64, '0') + "\n" +
                           "protocol_version=1\n"
                           "endpoint=198.18.0.2:51998\n"
                           "last_handshake_time_sec=1700000000\n"
                           "last_handshake_time_nsec=5\n"
                           "tx_bytes=148\n"
                           "rx_bytes=92\n"
                           "persistent_keepalive_interval=25\n"
                           "allowed_ip=198.19.0.2/32\n"
                           "allowed_ip=fd19::2/128\n"
                           "errno=0\n\n";
  EXPECT_EQ(std::string_view(FormatGet(s)), want);
  // A fresh device: no private key, no fwmark line for 0.
  device::DeviceStatus fresh;
  fresh.listen_port = 44613;
  EXPECT_EQ(std::string_view(FormatGet(fresh)), "listen_port=44613\nerrno=0\n\n");
}

// Splits set=1 text into the lines ParseSet takes (without "set=1" and the blank line).
std::vector<std::string> SetLines(const SecretString& text) {
  std::vector<std::string> lines;
  std::string_view rest(text.data(), text.size());
  EXPECT_EQ(rest.substr(0, 6), "set=1\n");
  EXPECT_EQ(rest.substr(rest.size() - 2), "\n\n");
  rest = rest.substr(6, rest.size() - 7);
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    lines.emplace_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  return lines;
}

TEST(UapiFormatTest, SetMatchesWgSetconfBytesAndParsesBack) {
  // wg setconf's bytes from the reference (§3.6), with our keys.
  const std::vector<std::string> wg = {"private_key=" + kKey1,
                                       "listen_port=51820",
                                       "fwmark=16",
                                       "replace_peers=true",
                                       "public_key=" + kKey2,
                                       "endpoint=127.0.0.1:1234",
                                       "persistent_keepalive_interval=15",
                                       "replace_allowed_ips=true",
                                       "allowed_ip=10.1.0.0/16"};
  SetRequest parsed = ParseSet(wg);
  ASSERT_EQ(parsed.error, 0) << parsed.error_detail;
  const SecretString text = FormatSet(parsed.update);
  std::string expected = "set=1\n";
  for (const std::string& l : wg) expected += l + "\n";
  expected += "\n";
  EXPECT_EQ(std::string(text.data(), text.size()), expected);
}

TEST(UapiFormatTest, SetRoundTripsEveryKey) {
  const std::vector<std::string> lines = {"private_key=" + kKey2,
                                          "listen_port=0",
                                          "fwmark=4294967295",
                                          "tundra_transport=auto",
                                          "tundra_tcp_port=443",
                                          "replace_peers=true",
                                          "public_key=" + kKey1,
                                          "update_only=true",
                                          "preshared_key=" + kKey2,
                                          "endpoint=[fd18::2]:51821",
                                          "persistent_keepalive_interval=0",
                                          "tundra_transport=tcp",
                                          "tundra_speed=10000:2000",
                                          "tundra_burst=65536",
                                          "replace_allowed_ips=true",
                                          "allowed_ip=198.19.0.2/32",
                                          "allowed_ip=-fd19::/64",
                                          "public_key=" + kKey2,
                                          "remove=true",
                                          "public_key=" + std::string(64, 'c')};
  SetRequest first = ParseSet(lines);
  ASSERT_EQ(first.error, 0) << first.error_detail;
  const SecretString text = FormatSet(first.update);
  EXPECT_EQ(SetLines(text), lines);  // same keys, same order
  SetRequest second = ParseSet(SetLines(text));
  ASSERT_EQ(second.error, 0) << second.error_detail;
  EXPECT_EQ(FormatSet(second.update), text);
  // Nothing set, nothing written.
  EXPECT_EQ(std::string(FormatSet({}).c_str()), "set=1\n\n");
}

TEST(UapiFormatTest, GetParsesBackWhatFormatGetWrites) {
  device::DeviceStatus s;
  s.private_key = crypto::PrivateKey(std::vector<uint8_t>(32, 7));
  s.listen_port = 51820;
  s.fwmark = 51820;
  device::PeerStatus p;
  p.public_key.fill(9);
  p.preshared_key = crypto::SymmetricKey(std::vector<uint8_t>(32, 3));
  p.endpoint = *transport::Endpoint::Parse("[fd18::2]:51821");
  p.last_handshake = {1700000000, 12345};
  p.rx_bytes = 100;
  p.tx_bytes = 200;
  p.persistent_keepalive = 25;
  p.allowed_ips = {*routing::IpPrefix::Parse("198.19.0.2/32"),
                   *routing::IpPrefix::Parse("fd19::/64")};
  s.peers.push_back(p);
  device::PeerStatus q;
  q.public_key.fill(10);
  s.peers.push_back(q);
  const SecretString text = FormatGet(s);
  auto back = ParseGet(std::string_view(text.data(), text.size()));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(FormatGet(*back), text);
  EXPECT_EQ(back->peers.size(), 2u);
  EXPECT_EQ(back->peers[0].last_handshake.nsec, 12345);
  EXPECT_FALSE(back->peers[1].endpoint.has_value());
  // wg's leniency: unknown keys are skipped.
  EXPECT_TRUE(ParseGet("listen_port=1\ntundra_future=x\nerrno=0\n\n").ok());
}

TEST(UapiFormatTest, GetErrors) {
  EXPECT_EQ(ParseGet("errno=-22\n\n").error().message(), "UAPI get: the daemon answered errno=-22");
  EXPECT_EQ(ParseGet("listen_port=x\nerrno=0\n\n").error().message(),
            "UAPI get reply line 1: bad value for listen_port");
  EXPECT_EQ(ParseGet("public_key=" + kKey1 + "\npreshared_key=zz\n").error().message(),
            "UAPI get reply line 2: bad value for preshared_key");
  EXPECT_EQ(ParseGet("listen_port=1\nerrno=0\n").error().message(),
            "UAPI get reply: no blank line at the end");
  EXPECT_EQ(ParseGet("junk\n\n").error().message(), "UAPI get reply line 1: no '='");
}

TEST(UapiParseTest, TundraTransportKeys) {
  auto r = Parse({"tundra_transport=auto", "tundra_tcp_port=443", "public_key=" + kKey2,
                  "tundra_transport=tcp", "public_key=" + kKey1, "tundra_transport=udp"});
  ASSERT_EQ(r.error, 0) << r.error_detail;
  EXPECT_EQ(r.update.transport, transport::TransportMode::kAuto);
  EXPECT_EQ(r.update.tcp_port, 443);
  ASSERT_EQ(r.update.peers.size(), 2u);
  EXPECT_EQ(r.update.peers[0].transport, transport::TransportMode::kTcp);
  EXPECT_EQ(r.update.peers[1].transport, transport::TransportMode::kUdp);
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"tundra_transport=quic"},
                                              {"tundra_tcp_port=65536"},
                                              {"public_key=" + kKey2, "tundra_transport=TCP"}}) {
    EXPECT_EQ(Parse(bad).error, kErrnoInvalid) << bad.back();
  }
}

TEST(UapiParseTest, ShapingKeys) {
  auto r = Parse({"public_key=" + kKey2, "tundra_speed=10000", "public_key=" + kKey1,
                  "tundra_speed=0:512", "tundra_burst=2000"});
  ASSERT_EQ(r.error, 0) << r.error_detail;
  ASSERT_EQ(r.update.peers.size(), 2u);
  EXPECT_EQ(r.update.peers[0].speed, (device::Speed{10000, 10000}));
  EXPECT_FALSE(r.update.peers[0].burst);
  EXPECT_EQ(r.update.peers[1].speed, (device::Speed{0, 512}));
  EXPECT_EQ(r.update.peers[1].burst, 2000u);
  for (const std::string bad : {"tundra_speed=fast", "tundra_speed=1:2:3",
                                "tundra_speed=", "tundra_burst=-1", "tundra_burst=1073741825"}) {
    auto e = Parse({"public_key=" + kKey2, bad});
    EXPECT_EQ(e.error, kErrnoInvalid) << bad;
    EXPECT_NE(e.error_detail.find(bad.substr(0, bad.find('='))), std::string::npos)
        << e.error_detail;
  }
  // A device line, not a peer's.
  EXPECT_EQ(Parse({"tundra_speed=1"}).error, kErrnoInvalid);
}

TEST(UapiParseTest, CompressionKey) {
  auto r = Parse({"public_key=" + kKey2, "tundra_compression=lz4", "public_key=" + kKey1,
                  "tundra_compression=zstd:9"});
  ASSERT_EQ(r.error, 0) << r.error_detail;
  ASSERT_EQ(r.update.peers.size(), 2u);
  EXPECT_EQ(r.update.peers[0].compression, (compress::Setting{compress::Algorithm::kLz4, 0}));
  EXPECT_EQ(r.update.peers[1].compression, (compress::Setting{compress::Algorithm::kZstd, 9}));
  EXPECT_EQ(Parse({"public_key=" + kKey2, "tundra_compression=none"}).update.peers[0].compression,
            compress::Setting{});
  for (const std::string bad : {"tundra_compression=gzip", "tundra_compression=zstd:20",
                                "tundra_compression=zstd:0", "tundra_compression="}) {
    auto e = Parse({"public_key=" + kKey2, bad});
    EXPECT_EQ(e.error, kErrnoInvalid) << bad;
    EXPECT_NE(e.error_detail.find("tundra_compression"), std::string::npos) << e.error_detail;
  }
  EXPECT_EQ(Parse({"tundra_compression=lz4"}).error, kErrnoInvalid);  // a peer key
}

TEST(UapiFormatTest, TransportsReplyAndGetStaysStandard) {
  device::DeviceStatus s;
  s.listen_port = 51820;
  s.transport = transport::TransportMode::kAuto;
  s.tcp_listen_port = 51820;
  device::PeerStatus p;
  p.public_key[0] = 2;
  p.endpoint =
      transport::Endpoint::Parse("198.18.0.2:40000")->WithTransport(transport::Transport::kTcp, 17);
  p.transport_mode = transport::TransportMode::kAuto;
  p.transport_in_use = transport::Transport::kTcp;
  p.transport_since = {1700000000, 7};
  p.counters = {.rx_packets = 11,
                .tx_packets = 12,
                .handshakes = 3,
                .initiations_sent = 4,
                .dropped = 5,
                .shaped_in = 2,
                .shaped_out = 1};
  p.shaping = {.speed = {.in_kbit = 10000, .out_kbit = 0}, .burst = 4096};
  p.compression = {compress::Algorithm::kLz4, 0};
  p.compression_active = true;
  s.peers.push_back(p);
  EXPECT_EQ(FormatPeers(s), "transport=auto\ntcp_listen_port=51820\npublic_key=02" +
                                std::string(62, '0') +
                                "\ntransport=auto\ntransport_in_use=tcp\n"
                                "transport_since_sec=1700000000\ntransport_since_nsec=7\n"
                                "rx_packets=11\ntx_packets=12\nhandshakes=3\n"
                                "handshake_initiations=4\ndropped=5\n"
                                "speed=10000:0\nburst=4096\nshaped_in=2\nshaped_out=1\n"
                                "compression=lz4\ncompression_active=1\n"
                                "compress_tx_packets=0\ncompress_tx_compressed=0\n"
                                "compress_tx_before=0\ncompress_tx_after=0\n"
                                "compress_rx_packets=0\ncompress_rx_before=0\n"
                                "compress_rx_after=0\nerrno=0\n\n");
  // get=1 has no extension keys; a TCP endpoint prints as its address.
  const std::string get(std::string_view(FormatGet(s)));
  EXPECT_EQ(get.find("transport"), std::string::npos);
  EXPECT_NE(get.find("endpoint=198.18.0.2:40000\n"), std::string::npos);
}

TEST(UapiFormatTest, ApplyErrorsMapToWireguardGoErrnos) {
  EXPECT_EQ(ErrnoForApplyError(Error(EADDRINUSE, "x")), kErrnoAddrInUse);
  EXPECT_EQ(ErrnoForApplyError(Error(EINVAL, "x")), kErrnoInvalid);
  EXPECT_EQ(ErrnoForApplyError(Error(EIO, "x")), kErrnoIo);
  EXPECT_EQ(ErrnoForApplyError(Error(ENOSPC, "x")), kErrnoNoAno);
}

}  // namespace
}  // namespace tundra::uapi

namespace tundra::uapi {
namespace {

// Random requests from every key with good, bad and hostile values (huge numbers, NUL bytes,
// long runs, truncated keys): the parser never crashes, answers 0 or a wireguard-go errno with
// a reason, and the allowed IPs of a request it accepts are valid prefixes (ASan in sanitizer
// builds).
TEST(UapiParseTest, RandomRequestsGetAnAnswerNeverACrash) {
  std::mt19937 rng(17);
  const std::vector<std::string> keys = {"private_key",
                                         "listen_port",
                                         "fwmark",
                                         "replace_peers",
                                         "public_key",
                                         "update_only",
                                         "preshared_key",
                                         "endpoint",
                                         "persistent_keepalive_interval",
                                         "replace_allowed_ips",
                                         "allowed_ip",
                                         "protocol_version",
                                         "remove",
                                         "bogus",
                                         ""};
  const std::vector<std::string> values = {kKey1,
                                           kKey2,
                                           kKey1.substr(0, 63),
                                           "true",
                                           "false",
                                           "0",
                                           "1",
                                           "65535",
                                           "65536",
                                           "4294967296",
                                           "-1",
                                           "99999999999999999999999",
                                           "198.18.0.1:1",
                                           "[fd18::1]:51820",
                                           "[fd18::1",
                                           "198.19.0.0/24",
                                           "-198.19.0.0/24",
                                           "fd19::/129",
                                           "",
                                           std::string(1, '\0'),
                                           std::string(5000, 'a'),
                                           "=",
                                           "0x10",
                                           " 1"};
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::string> lines;
    const size_t n = 1 + rng() % 8;
    for (size_t i = 0; i < n; ++i) {
      if (rng() % 20 == 0) {
        std::string garbage(rng() % 40, '\0');
        for (auto& c : garbage) c = char(rng());
        lines.push_back(garbage);
      } else {
        lines.push_back(keys[rng() % keys.size()] + "=" + values[rng() % values.size()]);
      }
    }
    SetRequest r = ParseSet(lines);
    if (r.error == 0) {
      ++accepted;
      for (const auto& p : r.update.peers) {
        for (const auto& a : p.allowed_ips) {
          ASSERT_TRUE(routing::IpPrefix::Parse(a.prefix.ToString()).ok()) << a.prefix.ToString();
        }
      }
    } else {
      ASSERT_TRUE(r.error == kErrnoInvalid || r.error == kErrnoProtocol || r.error == kErrnoNoAno)
          << r.error;
      ASSERT_FALSE(r.error_detail.empty());
    }
  }
  EXPECT_GT(accepted, 50);  // the generator reaches the accepting paths too (77 of 20000)
}

TEST(UapiParseTest, TapModeKeys) {
  auto r = Parse({"tundra_switch=hub", "tundra_forward=true", "public_key=" + kKey2,
                  "tundra_replace_allowed_macs=true", "tundra_allowed_mac=52:54:00:12:34:56",
                  "tundra_allowed_mac=52:54:00:00:00:00/24", "public_key=" + kKey1});
  ASSERT_EQ(r.error, 0) << r.error_detail;
  EXPECT_EQ(r.update.switch_mode, l2::Mode::kHub);
  EXPECT_EQ(r.update.forward, true);
  ASSERT_EQ(r.update.peers.size(), 2u);
  const device::PeerUpdate& p = r.update.peers[0];
  EXPECT_TRUE(p.replace_allowed_macs);
  ASSERT_EQ(p.allowed_macs.size(), 2u);
  EXPECT_EQ(p.allowed_macs[0].ToString(), "52:54:00:12:34:56");
  EXPECT_EQ(p.allowed_macs[1].ToString(), "52:54:00:00:00:00/24");
  EXPECT_FALSE(r.update.peers[1].replace_allowed_macs);  // per peer
  EXPECT_EQ(Parse({"tundra_switch=switch"}).update.switch_mode, l2::Mode::kSwitch);
  EXPECT_EQ(Parse({"tundra_forward=false"}).update.forward, false);
  // Nothing TAP-specific in an update that does not say so.
  auto plain = Parse({"listen_port=1", "public_key=" + kKey2});
  EXPECT_FALSE(plain.update.switch_mode.has_value());
  EXPECT_FALSE(plain.update.forward.has_value());
  EXPECT_FALSE(plain.update.peers[0].replace_allowed_macs);
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"tundra_switch=router"},
           {"tundra_switch="},
           {"tundra_forward=yes"},
           {"tundra_forward=1"},
           {"public_key=" + kKey2, "tundra_allowed_mac=52:54:00:00:00:01/24"},  // host bits
           {"public_key=" + kKey2, "tundra_allowed_mac=52:54:00:00:00"},
           {"public_key=" + kKey2, "tundra_allowed_mac=52:54:00:00:00:00/49"},
           {"public_key=" + kKey2, "tundra_replace_allowed_macs=false"},
           {"tundra_allowed_mac=52:54:00:00:00:01"},         // a peer key
           {"tundra_replace_allowed_macs=true"},             // a peer key
           {"public_key=" + kKey2, "tundra_switch=hub"}}) {  // a device key
    auto e = Parse(bad);
    EXPECT_EQ(e.error, kErrnoInvalid) << bad.back();
    const std::string key = bad.back().substr(0, bad.back().find('='));
    EXPECT_NE(e.error_detail.find(key), std::string::npos) << e.error_detail;
    EXPECT_EQ(e.error_detail.find("52:54"), std::string::npos) << e.error_detail;
  }
}

TEST(UapiFormatTest, SetRoundTripsTapKeys) {
  const std::vector<std::string> lines = {"tundra_switch=hub",
                                          "tundra_forward=false",
                                          "replace_peers=true",
                                          "public_key=" + kKey1,
                                          "tundra_replace_allowed_macs=true",
                                          "tundra_allowed_mac=52:54:00:12:34:56",
                                          "tundra_allowed_mac=00:00:00:00:00:00/0"};
  SetRequest first = ParseSet(lines);
  ASSERT_EQ(first.error, 0) << first.error_detail;
  const SecretString text = FormatSet(first.update);
  EXPECT_EQ(SetLines(text), lines);
  SetRequest second = ParseSet(SetLines(text));
  ASSERT_EQ(second.error, 0) << second.error_detail;
  EXPECT_EQ(FormatSet(second.update), text);
}

device::DeviceStatus TapStatus() {
  device::DeviceStatus s;
  s.listen_port = 51820;
  s.tap = true;
  s.switch_mode = l2::Mode::kHub;
  s.forward = true;
  s.mac_capacity = 8192;
  s.mac_expiry = std::chrono::seconds(600);
  s.mac_stats = {.size = 3,
                 .learned = 9,
                 .moved = 1,
                 .evicted = 2,
                 .evicted_chain = 3,
                 .expired = 4,
                 .removed = 5,
                 .deferred = 6};
  device::PeerStatus p;
  p.public_key[0] = 2;
  p.allowed_macs = {*l2::ParseMacPrefix("52:54:00:12:34:56"),
                    *l2::ParseMacPrefix("02:00:00:00:00:00/8")};
  p.mac_entries = 2;
  p.l2_drops[size_t(l2::DropReason::kSourceNotAllowed)] = 7;
  p.l2_drops[size_t(l2::DropReason::kIpOnTap)] = 1;
  s.peers.push_back(p);
  return s;
}

TEST(UapiFormatTest, PeersReplyInTapModeAndGetStaysStandard) {
  const device::DeviceStatus s = TapStatus();
  const std::string peers = FormatPeers(s);
  EXPECT_EQ(peers.substr(0, peers.find("public_key=")),
            "transport=udp\ntcp_listen_port=0\nmode=tap\nswitch=hub\nforward=yes\n"
            "mac_table=3/8192\nmac_expiry=600\nmac_learned=9\nmac_moved=1\nmac_evicted=2\n"
            "mac_evicted_chain=3\nmac_expired=4\nmac_removed=5\nmac_learn_deferred=6\n");
  const std::string peer_part = peers.substr(peers.find("compress_rx_after=0\n") + 20);
  EXPECT_EQ(peer_part,
            "allowed_mac=52:54:00:12:34:56\nallowed_mac=02:00:00:00:00:00/8\nmac_entries=2\n"
            "l2_drop_frame_too_short=0\nl2_drop_frame_too_long=0\nl2_drop_frame_bad_length=0\n"
            "l2_drop_ip_on_tap=1\nl2_drop_frame_on_tun=0\nl2_drop_invalid_source_mac=0\n"
            "l2_drop_source_mac_not_allowed=7\nl2_drop_to_ingress=0\nl2_drop_not_forwarding=0\n"
            "l2_drop_already_relayed=0\nerrno=0\n\n");
  // A TUN-mode device lists none of it.
  device::DeviceStatus tun = s;
  tun.tap = false;
  const std::string tun_peers = FormatPeers(tun);
  for (const char* key : {"mode=", "switch=", "mac_", "allowed_mac=", "l2_drop_"}) {
    EXPECT_EQ(tun_peers.find(key), std::string::npos) << key;
  }
  // get=1 (what wg reads) is byte-identical in both modes: none of TAP mode's keys.
  EXPECT_EQ(std::string_view(FormatGet(s)), std::string_view(FormatGet(tun)));
  const std::string get(std::string_view(FormatGet(s)));
  EXPECT_EQ(get.find("mac"), std::string::npos) << get;
}

}  // namespace
}  // namespace tundra::uapi
