#include "tundra/config/config.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "tundra/config/test_files.h"
#include "tundra/crypto/key_text.h"

namespace tundra::config {
namespace {

using namespace ::tundra::config::testing;  // NOLINT: test keys and TempDir

Result<TunnelConfig> Parse(const std::string& text, const ParseOptions& options = {}) {
  TUNDRA_ASSIGN_OR_RETURN(IniFile file, TokenizeIni("wg0.conf", text));
  return ParseConfig(file, options);
}

std::string ErrorOf(const std::string& text, const ParseOptions& options = {}) {
  auto config = Parse(text, options);
  if (config.ok()) return "(parsed)";
  return config.error().message();
}

crypto::PublicKey Pub(const char* b64) {
  crypto::PublicKey k{};
  auto key = crypto::KeyFromBase64(b64);
  EXPECT_TRUE(key.ok());
  if (key.ok()) k = *key;
  return k;
}

const std::string kIface = std::string("[Interface]\nPrivateKey = ") + kPrivate1 + "\n";
const std::string kPeer = std::string("[Peer]\nPublicKey = ") + kPublic2 + "\n";

TEST(ConfigTest, EveryKeyParses) {
  const std::string text = std::string() +
                           "[Interface]\n"
                           "PrivateKey = " +
                           kPrivate1 +
                           "\n"
                           "Address = 198.19.0.1/24, fd19::1/64\n"
                           "address = 198.19.1.1\n"
                           "ListenPort = 51820\n"
                           "MTU = 1380\n"
                           "DNS = 198.18.0.53, fd18::53 example.test\n"
                           "Table = 1234\n"
                           "FwMark = 0x10\n"
                           "PreUp = echo pre-up %i\n"
                           "PreUp = echo second\n"
                           "PostUp = echo post-up\n"
                           "PreDown = echo pre-down\n"
                           "PostDown = echo post-down\n"
                           "SaveConfig = true\n"
                           "User = nobody\n"
                           "PeerUp = logger up %k\n"
                           "PeerDown = logger down %k\n"
                           "\n"
                           "[Peer]\n"
                           "PublicKey = " +
                           kPublic2 +
                           "\n"
                           "PresharedKey = " +
                           kPsk +
                           "\n"
                           "AllowedIPs = 198.19.0.2/32, fd19::2/128\n"
                           "AllowedIPs = 198.19.8.0/21\n"
                           "Endpoint = 198.18.0.2:51821\n"
                           "PersistentKeepalive = 25\n"
                           "PeerUp = echo this peer\n"
                           "[Peer]\n"
                           "PublicKey = " +
                           kPublic3 +
                           "\n"
                           "Endpoint = [fd18::3]:51822\n"
                           "PersistentKeepalive = off\n"
                           "[Peer]\n"
                           "PublicKey = " +
                           kPublic1 +
                           "\n"
                           "Endpoint = vpn.example.test:443\n"
                           "AllowedIPs =\n";
  auto config = Parse(text);
  ASSERT_TRUE(config.ok()) << config.error().message();
  const InterfaceConfig& c = config->interface;
  EXPECT_EQ(c.line, 1u);
  ASSERT_TRUE(c.private_key.has_value());
  EXPECT_EQ(crypto::KeyToBase64(c.private_key->span()), kPrivate1);
  ASSERT_EQ(c.addresses.size(), 3u);
  EXPECT_EQ(c.addresses[0].ToString(), "198.19.0.1/24");  // host bits kept
  EXPECT_EQ(c.addresses[1].ToString(), "fd19::1/64");
  EXPECT_EQ(c.addresses[2].ToString(), "198.19.1.1/32");
  EXPECT_EQ(c.listen_port, 51820);
  EXPECT_EQ(c.mtu, 1380);
  ASSERT_EQ(c.dns_servers.size(), 2u);
  EXPECT_EQ(c.dns_servers[0].ToString(), "198.18.0.53");
  EXPECT_EQ(c.dns_servers[1].ToString(), "fd18::53");
  EXPECT_EQ(c.dns_search, std::vector<std::string>{"example.test"});
  EXPECT_EQ(c.table.kind, TableSetting::Kind::kNumber);
  EXPECT_EQ(c.table.number, 1234u);
  EXPECT_EQ(c.fwmark, 16u);
  EXPECT_EQ(c.pre_up, (std::vector<std::string>{"echo pre-up %i", "echo second"}));
  EXPECT_EQ(c.post_up, std::vector<std::string>{"echo post-up"});
  EXPECT_EQ(c.pre_down, std::vector<std::string>{"echo pre-down"});
  EXPECT_EQ(c.post_down, std::vector<std::string>{"echo post-down"});
  EXPECT_TRUE(c.save_config);
  EXPECT_EQ(c.user, "nobody");
  EXPECT_EQ(c.peer_up, std::vector<std::string>{"logger up %k"});
  EXPECT_EQ(c.peer_down, std::vector<std::string>{"logger down %k"});

  ASSERT_EQ(config->peers.size(), 3u);
  const PeerConfig& p = config->peers[0];
  EXPECT_EQ(p.line, 20u);
  EXPECT_EQ(p.public_key, Pub(kPublic2));
  ASSERT_TRUE(p.preshared_key.has_value());
  EXPECT_EQ(crypto::KeyToBase64(p.preshared_key->span()), kPsk);
  ASSERT_EQ(p.allowed_ips.size(), 3u);
  EXPECT_EQ(p.allowed_ips[2].ToString(), "198.19.8.0/21");
  ASSERT_TRUE(p.endpoint.has_value());
  ASSERT_TRUE(p.endpoint->numeric.has_value());
  EXPECT_EQ(p.endpoint->numeric->ToString(), "198.18.0.2:51821");
  EXPECT_EQ(p.persistent_keepalive, 25);
  EXPECT_EQ(p.peer_up, std::vector<std::string>{"echo this peer"});

  const PeerConfig& p2 = config->peers[1];
  EXPECT_EQ(p2.endpoint->host, "fd18::3");
  EXPECT_EQ(p2.endpoint->numeric->ToString(), "[fd18::3]:51822");
  EXPECT_EQ(p2.persistent_keepalive, 0);
  EXPECT_FALSE(p2.preshared_key.has_value());

  const PeerConfig& p3 = config->peers[2];
  EXPECT_EQ(p3.endpoint->host, "vpn.example.test");  // kept for resolution
  EXPECT_EQ(p3.endpoint->port, 443);
  EXPECT_FALSE(p3.endpoint->numeric.has_value());
  EXPECT_TRUE(p3.allowed_ips.empty());
}

TEST(ConfigTest, DefaultsAndOtherSpellings) {
  auto config = Parse(kIface + "Table = off\nFwMark = off\nSaveConfig = false\n");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->interface.table.kind, TableSetting::Kind::kOff);
  EXPECT_EQ(config->interface.fwmark, 0u);
  EXPECT_FALSE(config->interface.save_config);
  EXPECT_EQ(Parse(kIface + "Table = auto\n")->interface.table.kind, TableSetting::Kind::kAuto);
  EXPECT_EQ(Parse(kIface + "FwMark = 51820\n")->interface.fwmark, 51820u);
  auto empty = Parse("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->interface.line, 0u);
  EXPECT_FALSE(empty->interface.private_key.has_value());
  EXPECT_EQ(empty->interface.table.kind, TableSetting::Kind::kAuto);
}

struct BadCase {
  std::string text;
  std::string error;
};

TEST(ConfigTest, EveryErrorNamesFileLineSectionAndKey) {
  const BadCase cases[] = {
      {kIface + kPeer + "AllowedIPs = 10.0.0.300/32\n",
       "wg0.conf:5: [Peer] AllowedIPs: '10.0.0.300/32' is not an IP prefix"},
      {kIface + kPeer + "AllowedIPs = 10.0.0.0/33\n",
       "wg0.conf:5: [Peer] AllowedIPs: '10.0.0.0/33' is not an IP prefix"},
      {kIface + kPeer + "AllowedIPs = 10.0.0.0/8,,fd00::/8\n",
       "wg0.conf:5: [Peer] AllowedIPs: an empty item in the list"},
      {kIface + "Address = 198.19.0.1/24, nonsense\n",
       "wg0.conf:3: [Interface] Address: 'nonsense' is not an IP prefix"},
      {kIface + "Frobnicate = 1\n", "wg0.conf:3: [Interface] Frobnicate: unknown key"},
      {kIface + kPeer + "Address = 10.0.0.1/24\n",
       "wg0.conf:5: [Peer] Address: belongs in [Interface]"},
      {kIface + "Endpoint = 198.18.0.1:1\n", "wg0.conf:3: [Interface] Endpoint: belongs in [Peer]"},
      {kIface + kPeer + "Transport = quic\n",
       "wg0.conf:5: [Peer] Transport: 'quic' is not udp, tcp or auto"},
      {kIface + "TcpPort = 70000\n",
       "wg0.conf:3: [Interface] TcpPort: '70000' is not a port 0-65535"},
      {kIface + kPeer + "TcpPort = 1\n", "wg0.conf:5: [Peer] TcpPort: belongs in [Interface]"},
      {kIface + "Workers = 4\n",
       "wg0.conf:3: [Interface] Workers: not supported by this build of tundra (number of "
       "data-path worker threads)"},
      {kIface + "ListenPort = 65536\n",
       "wg0.conf:3: [Interface] ListenPort: '65536' is not a port 0-65535"},
      {kIface + "ListenPort = 1\nlistenport = 2\n",
       "wg0.conf:4: [Interface] ListenPort: given twice (also at line 3)"},
      {kIface + "MTU = 100\n", "wg0.conf:3: [Interface] MTU: '100' is not an MTU 576-65535"},
      {kIface + "Table = main\n",
       "wg0.conf:3: [Interface] Table: 'main' is not off, auto or a table number"},
      {kIface + "FwMark = 0xg\n",
       "wg0.conf:3: [Interface] FwMark: '0xg' is not off or a 32-bit number (decimal or 0x hex)"},
      {kIface + "FwMark = 4294967296\n",
       "wg0.conf:3: [Interface] FwMark: '4294967296' is not off or a 32-bit number (decimal or "
       "0x hex)"},
      {kIface + "DNS = 1.2.3\n", "wg0.conf:3: [Interface] DNS: '1.2.3' is not an IP address"},
      {kIface + "DNS = bad!name\n", "wg0.conf:3: [Interface] DNS: 'bad!name' is not a domain name"},
      {kIface + "SaveConfig = yes\n",
       "wg0.conf:3: [Interface] SaveConfig: 'yes' is neither true nor false"},
      {kIface + "User = a b\n", "wg0.conf:3: [Interface] User: 'a b' is not a user name or uid"},
      {kIface + "PostUp =\n", "wg0.conf:3: [Interface] PostUp: no value"},
      {kIface + "[Interface]\n",
       "wg0.conf:3: a second [Interface] section (the first is at line 1)"},
      {"[Interface]\nPrivateKey = abc\n",
       "wg0.conf:2: [Interface] PrivateKey: not a key: a key must be 44 base64 characters ending "
       "in '=' (got 3 characters)"},
      {kIface + "[Peer]\nAllowedIPs = 10.0.0.1\n[Peer]\n", "wg0.conf:3: [Peer] has no PublicKey"},
      {kIface + "[Peer]\nAllowedIPs = 10.0.0.1\n", "wg0.conf:3: [Peer] has no PublicKey"},
      {kIface + kPeer + kPeer, "wg0.conf:6: [Peer] PublicKey: the same peer as at line 3"},
      {kIface + kPeer + "PersistentKeepalive = forever\n",
       "wg0.conf:5: [Peer] PersistentKeepalive: 'forever' is not off or seconds 0-65535"},
      {kIface + kPeer + "Endpoint = 198.18.0.1\n",
       "wg0.conf:5: [Peer] Endpoint: '198.18.0.1' has no :port"},
      {kIface + kPeer + "Endpoint = fd18::1:51820\n",
       "wg0.conf:5: [Peer] Endpoint: 'fd18::1:51820' needs [brackets] around IPv6"},
      {kIface + kPeer + "Endpoint = [fd18::1:51820\n",
       "wg0.conf:5: [Peer] Endpoint: '[fd18::1:51820' has no ']' after the IPv6 address"},
      {kIface + kPeer + "Endpoint = [198.18.0.1]:1\n",
       "wg0.conf:5: [Peer] Endpoint: '[198.18.0.1]:1' does not hold an IPv6 address in its "
       "[brackets]"},
      {kIface + kPeer + "Endpoint = host:0\n",
       "wg0.conf:5: [Peer] Endpoint: 'host:0' has no port 1-65535"},
      {kIface + kPeer + "Endpoint = host:http\n",
       "wg0.conf:5: [Peer] Endpoint: 'host:http' has no port 1-65535"},
      {kIface + kPeer + "Endpoint = ho st:1\n",
       "wg0.conf:5: [Peer] Endpoint: 'ho st:1' is not host:port"},
      {kIface + kPeer + "PresharedKey = " + kPsk + "\nPresharedKeyFile = psk\n",
       "wg0.conf:6: [Peer] PresharedKeyFile: PresharedKey is given too (line 5)"},
      {kIface + "PrivateKeyFile = key\n",
       "wg0.conf:3: [Interface] PrivateKeyFile: PrivateKey is given too (line 2)"},
  };
  for (const BadCase& c : cases) EXPECT_EQ(ErrorOf(c.text), c.error) << c.text;
}

TEST(ConfigTest, SecretsNeverAppearInErrors) {
  // A key with one character wrong, a key where a key name goes, a line that is only a key,
  // and a key with an unknown key name: no error shows any of the key text.
  std::string bad_key = kPrivate1;
  bad_key[10] = '!';
  const std::string texts[] = {
      "[Interface]\nPrivateKey = " + bad_key + "\n",
      "[Interface]\n" + std::string(kPrivate1) + " = 1\n",
      "[Interface]\n" + std::string(kPrivate1) + "\n",
      "[Interface]\nPrivateKey " + std::string(kPrivate1) + "\n",
      "[Interface]\nPrivatKey = " + std::string(kPrivate1) + "\n",
      "[Peer]\nPresharedKey = " + bad_key + "\n",
      "[Interface]\nPrivateKey = " + std::string(kPrivate1) + "\nPrivateKey = " + kPrivate1 + "\n",
      "[Peer]\nPublicKey = " + std::string(kPublic2) + "\nPresharedKey = " + kPsk +
          "\nPresharedKey = " + kPsk + "\n",
      // a key in a key that is not a key's
      "[Peer]\nAllowedIPs = " + std::string(kPsk) + "\n",
      "[Interface]\nListenPort = " + std::string(kPrivate1) + "\n",
      "[Interface]\nUser = " + std::string(kPrivate1).substr(0, 43) + "\n",
  };
  const std::string secret_parts[] = {std::string(kPrivate1).substr(0, 8),
                                      std::string(kPsk).substr(0, 8), bad_key.substr(0, 8),
                                      std::string(kPrivate1).substr(20, 8)};
  for (const std::string& text : texts) {
    const std::string error = ErrorOf(text);
    EXPECT_NE(error, "(parsed)") << text;
    for (const std::string& part : secret_parts) {
      EXPECT_EQ(error.find(part), std::string::npos) << error;
    }
  }
  EXPECT_EQ(ErrorOf("[Interface]\nPrivateKey = " + bad_key + "\n"),
            "wg0.conf:2: [Interface] PrivateKey: not a key: a key has an invalid base64 "
            "character at position 11");
  EXPECT_EQ(ErrorOf("[Interface]\n" + std::string(kPrivate1) + " = 1\n"),
            "wg0.conf:2: [Interface] (key not shown): unknown key");
  EXPECT_EQ(
      ErrorOf("[Peer]\nAllowedIPs = " + std::string(kPsk) + "\n"),
      "wg0.conf:2: [Peer] AllowedIPs: (a value like key text, not shown) is not an IP prefix");
}

// Mutated files (bytes deleted, replaced, inserted; lines duplicated) never crash the parser,
// and every error still names the file and a line.
TEST(ConfigTest, MutatedInputNeverCrashes) {
  const std::string base = kIface +
                           "Address = 198.19.0.1/24\nListenPort = 1\nDNS = 198.18.0.53\n"
                           "Table = 7\nFwMark = 0x1\nMTU = 1400\nPostUp = echo %i\n" +
                           kPeer + "PresharedKey = " + kPsk +
                           "\nAllowedIPs = 198.19.0.2/32, fd19::/64\n"
                           "Endpoint = [fd18::2]:51820\nPersistentKeepalive = 5\n";
  const std::string alphabet = "[]=#,:/.\n \t0123456789abcdefxAPIpeer+";
  std::mt19937 rng(11);  // fixed: a failure is reproducible
  int parsed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text = base;
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0:
          text.erase(at, 1 + rng() % 8);
          break;
        case 1:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        case 2:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        default: {
          const size_t begin = text.rfind('\n', at);
          const size_t end = text.find('\n', at);
          const size_t from = begin == std::string::npos ? 0 : begin + 1;
          text.insert(from, text.substr(from, end == std::string::npos ? end : end - from + 1));
        }
      }
    }
    auto config = Parse(text);
    if (config.ok()) {
      ++parsed;
      auto update = ToDeviceUpdate(*config, [](const EndpointSpec&) -> Result<transport::Endpoint> {
        return transport::Endpoint::Parse("198.18.0.9:9");
      });
      EXPECT_TRUE(update.ok()) << text;
    } else {
      EXPECT_EQ(config.error().message().rfind("wg0.conf:", 0), 0u) << config.error().message();
    }
  }
  EXPECT_GT(parsed, 0);  // some mutations keep the file valid (a comment, a space, a repeat)
}

TEST(ConfigTest, KeyFilesMustBePrivate) {
  TempDir dir;
  dir.Write("private.key", std::string(kPrivate1) + "\n", 0600);
  dir.Write("open.key", std::string(kPrivate1) + "\n", 0644);
  dir.Write("group.key", std::string(kPrivate1) + "\n", 0640);
  dir.Write("psk", std::string(kPsk) + "\n", 0400);
  dir.Write("garbage.key", "not a key at all\n", 0600);
  ParseOptions options{dir.path()};

  auto good = Parse("[Interface]\nPrivateKeyFile = private.key\n" + kPeer +
                        "PresharedKeyFile = " + dir.path() + "/psk\n",
                    options);
  ASSERT_TRUE(good.ok()) << good.error().message();
  EXPECT_EQ(crypto::KeyToBase64(good->interface.private_key->span()), kPrivate1);
  EXPECT_EQ(good->interface.private_key_file, "private.key");
  EXPECT_EQ(crypto::KeyToBase64(good->peers[0].preshared_key->span()), kPsk);

  const std::string p = dir.path();
  EXPECT_EQ(ErrorOf("[Interface]\nPrivateKeyFile = open.key\n", options),
            "wg0.conf:2: [Interface] PrivateKeyFile: " + p +
                "/open.key is accessible by group "
                "or others (mode 0644); make it private: chmod 600 " +
                p + "/open.key");
  EXPECT_EQ(ErrorOf("[Interface]\nPrivateKeyFile = group.key\n", options),
            "wg0.conf:2: [Interface] PrivateKeyFile: " + p +
                "/group.key is accessible by "
                "group or others (mode 0640); make it private: chmod 600 " +
                p + "/group.key");
  EXPECT_EQ(ErrorOf("[Interface]\nPrivateKeyFile = missing.key\n", options),
            "wg0.conf:2: [Interface] PrivateKeyFile: open " + p +
                "/missing.key: No such file or directory");
  EXPECT_EQ(ErrorOf("[Interface]\nPrivateKeyFile = garbage.key\n", options),
            "wg0.conf:2: [Interface] PrivateKeyFile: " + p +
                "/garbage.key: a key must be 44 base64 characters ending in '=' (got 16 "
                "characters)");
  EXPECT_EQ(ErrorOf("[Interface]\nPrivateKeyFile = " + p + "\n", options),
            "wg0.conf:2: [Interface] PrivateKeyFile: " + p + " is not a regular file");
}

TEST(ConfigTest, LoadConfigReadsKeyFilesBesideTheFile) {
  TempDir dir;
  dir.Write("k", std::string(kPrivate1) + "\n", 0600);
  const std::string path = dir.Write("wg7.conf", "[Interface]\nPrivateKeyFile = k\n");
  auto config = LoadConfig(path);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->name, path);
  EXPECT_EQ(crypto::KeyToBase64(config->interface.private_key->span()), kPrivate1);
  const std::string bad = dir.Write("wg8.conf", "[Interface]\nMTU = 1\n");
  auto error = LoadConfig(bad);
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.error().message(), bad + ":2: [Interface] MTU: '1' is not an MTU 576-65535");
}

TEST(ConfigTest, ToDeviceUpdateIsWhatWgSetconfSends) {
  auto config = Parse(kIface + "ListenPort = 51820\nFwMark = 0x10\nAddress = 198.19.0.1/24\n" +
                      kPeer + "PresharedKey = " + kPsk +
                      "\nAllowedIPs = 198.19.0.2/32\nEndpoint = 198.18.0.2:1234\n"
                      "PersistentKeepalive = 15\n[Peer]\nPublicKey = " +
                      kPublic3 + "\n");
  ASSERT_TRUE(config.ok()) << config.error().message();
  auto u = ToDeviceUpdate(*config);
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(crypto::KeyToBase64(u->private_key->span()), kPrivate1);
  EXPECT_EQ(u->listen_port, 51820);
  EXPECT_EQ(u->fwmark, 16u);
  EXPECT_TRUE(u->replace_peers);
  ASSERT_EQ(u->peers.size(), 2u);
  const device::PeerUpdate& p = u->peers[0];
  EXPECT_EQ(p.public_key, Pub(kPublic2));
  EXPECT_FALSE(p.remove);
  EXPECT_FALSE(p.update_only);
  EXPECT_EQ(crypto::KeyToBase64(p.preshared_key->span()), kPsk);
  EXPECT_EQ(p.endpoint->ToString(), "198.18.0.2:1234");
  EXPECT_EQ(p.persistent_keepalive, 15);
  EXPECT_TRUE(p.replace_allowed_ips);
  ASSERT_EQ(p.allowed_ips.size(), 1u);
  EXPECT_EQ(p.allowed_ips[0].prefix.ToString(), "198.19.0.2/32");
  EXPECT_FALSE(p.allowed_ips[0].remove);
  const device::PeerUpdate& q = u->peers[1];
  EXPECT_FALSE(q.preshared_key.has_value());
  EXPECT_FALSE(q.endpoint.has_value());
  EXPECT_FALSE(q.persistent_keepalive.has_value());

  auto bare = ToDeviceUpdate(*Parse(""));
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->private_key.has_value());
  EXPECT_FALSE(bare->listen_port.has_value());
  EXPECT_FALSE(bare->fwmark.has_value());
}

TEST(ConfigTest, HostNameEndpointsGoThroughTheResolver) {
  auto config = Parse(kIface + kPeer + "Endpoint = vpn.example.test:51820\n");
  ASSERT_TRUE(config.ok()) << config.error().message();
  auto unresolved = ToDeviceUpdate(*config);
  ASSERT_FALSE(unresolved.ok());
  EXPECT_EQ(unresolved.error().message(),
            "wg0.conf:5: [Peer] Endpoint: host name 'vpn.example.test' needs resolving");
  auto resolved =
      ToDeviceUpdate(*config, [](const EndpointSpec& ep) -> Result<transport::Endpoint> {
        EXPECT_EQ(ep.host, "vpn.example.test");
        return transport::Endpoint::Parse(fmt::format("198.18.7.7:{}", ep.port));
      });
  ASSERT_TRUE(resolved.ok()) << resolved.error().message();
  EXPECT_EQ(resolved->peers[0].endpoint->ToString(), "198.18.7.7:51820");
  auto failed = ToDeviceUpdate(*config, [](const EndpointSpec&) -> Result<transport::Endpoint> {
    return InvalidArgument("no such host");
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message(), "wg0.conf:5: [Peer] Endpoint: no such host");
}

TEST(ConfigTest, TransportKeysReachTheDeviceUpdate) {
  const std::string text =
      kIface + "Transport = auto\nTcpPort = 443\n" + kPeer + "Transport = TCP\n";
  auto config = Parse(text);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->interface.transport, transport::TransportMode::kAuto);
  EXPECT_EQ(config->interface.tcp_port, 443);
  ASSERT_EQ(config->peers.size(), 1u);
  EXPECT_EQ(config->peers[0].transport, transport::TransportMode::kTcp);
  auto u = ToDeviceUpdate(*config);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->transport, transport::TransportMode::kAuto);
  EXPECT_EQ(u->tcp_port, 443);
  EXPECT_EQ(u->peers[0].transport, transport::TransportMode::kTcp);
}

TEST(ConfigTest, ShapingKeysReachTheDeviceUpdate) {
  const std::string text = kIface + "Speed = 2000\n" + kPeer + "Speed = 10000:512\nBurst = 4096\n" +
                           "[Peer]\nPublicKey = " + kPublic3 + "\n";
  auto config = Parse(text);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->interface.speed, (device::Speed{2000, 2000}));
  auto u = ToDeviceUpdate(*config);
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(u->peers.size(), 2u);
  EXPECT_EQ(u->peers[0].speed, (device::Speed{10000, 512}));
  EXPECT_EQ(u->peers[0].burst, 4096u);
  EXPECT_EQ(u->peers[1].speed, (device::Speed{2000, 2000}));  // the interface's default
  EXPECT_FALSE(u->peers[1].burst);
  EXPECT_EQ(ErrorOf(kIface + kPeer + "Speed = fast\n"),
            "wg0.conf:5: [Peer] Speed: 'fast' is not IN:OUT or one rate in kbit/s "
            "(0-100000000)");
  EXPECT_EQ(ErrorOf(kIface + kPeer + "Burst = 2G\n"),
            "wg0.conf:5: [Peer] Burst: '2G' is not a size in bytes (0-1073741824)");
  EXPECT_EQ(ErrorOf(kIface + kPeer + "Speed = 1\nSpeed = 2\n"),
            "wg0.conf:6: [Peer] Speed: given twice (also at line 5)");
}

TEST(ConfigTest, CompressionKeyReachesTheDeviceUpdate) {
  const std::string text = kIface + "Compression = zstd:5\n" + kPeer + "Compression = LZ4\n" +
                           "[Peer]\nPublicKey = " + kPublic3 + "\n";
  auto config = Parse(text);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->interface.compression, (compress::Setting{compress::Algorithm::kZstd, 5}));
  auto u = ToDeviceUpdate(*config);
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(u->peers.size(), 2u);
  EXPECT_EQ(u->peers[0].compression, (compress::Setting{compress::Algorithm::kLz4, 0}));
  // The interface's default.
  EXPECT_EQ(u->peers[1].compression, (compress::Setting{compress::Algorithm::kZstd, 5}));
  auto none = Parse(kIface + kPeer + "Compression = none\n");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->peers[0].compression, compress::Setting{});
  auto zstd = Parse(kIface + kPeer + "Compression = zstd\n");
  ASSERT_TRUE(zstd.ok());
  EXPECT_EQ(zstd->peers[0].compression,
            (compress::Setting{compress::Algorithm::kZstd, compress::kDefaultZstdLevel}));
  EXPECT_EQ(ErrorOf(kIface + kPeer + "Compression = gzip\n"),
            "wg0.conf:5: [Peer] Compression: 'gzip' is not lz4, zstd, zstd:LEVEL (1-19) or none");
  EXPECT_EQ(ErrorOf(kIface + kPeer + "Compression = zstd:20\n"),
            "wg0.conf:5: [Peer] Compression: 'zstd:20' is not lz4, zstd, zstd:LEVEL (1-19) or "
            "none");
  EXPECT_EQ(ErrorOf(kIface + kPeer + "Compression = lz4\nCompression = lz4\n"),
            "wg0.conf:6: [Peer] Compression: given twice (also at line 5)");
}

TEST(KeysTest, EveryKeyIsInOneSectionAtLeastAndHandled) {
  for (const KeySpec& k : AllKeys()) {
    EXPECT_TRUE(k.in_interface || k.in_peer) << k.name;
    EXPECT_EQ(&SpecOf(k.id), &k) << k.name;
    EXPECT_FALSE(k.summary.empty()) << k.name;
    if (k.kind == KeyKind::kUnsupported) continue;
    // Every supported key reaches a handler: a plausible value gives no "not handled" error.
    for (Section s : {Section::kInterface, Section::kPeer}) {
      if (FindKey(s, k.name) != &k) continue;
      const std::string header = s == Section::kInterface ? "[Interface]\n" : kPeer;
      const std::string error = ErrorOf(header + std::string(k.name) + " = x\n");
      EXPECT_EQ(error.find("not handled"), std::string::npos) << error;
    }
  }
}

TEST(KeysTest, DocsListEveryTundraKeyInTheirTable) {
  std::ifstream in(std::string(TUNDRA_DOCS_DIR) + "/config.md");
  ASSERT_TRUE(in.good()) << "docs/config.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  for (const KeySpec& k : AllKeys()) {
    if (k.kind != KeyKind::kTundra && k.kind != KeyKind::kUnsupported) continue;
    const std::string row = fmt::format("| `{}` |", k.name);
    EXPECT_NE(doc.find(row), std::string::npos) << "docs/config.md has no row " << row;
  }
}

}  // namespace
}  // namespace tundra::config
