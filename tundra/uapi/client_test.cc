#include "tundra/uapi/client.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "tundra/base/unique_fd.h"
#include "tundra/crypto/key_text.h"
#include "tundra/crypto/x25519.h"
#include "tundra/uapi/protocol.h"

namespace tundra::uapi {
namespace {

// A status as the device reports it, formatted by the server's own FormatGet.
device::DeviceStatus SampleStatus(crypto::PrivateKey& priv) {
  priv = crypto::GeneratePrivateKey();
  device::DeviceStatus s;
  s.private_key = priv;
  s.listen_port = 51820;
  s.fwmark = 0x1234;
  device::PeerStatus p;
  p.public_key = crypto::PublicFromPrivate(crypto::GeneratePrivateKey());
  p.preshared_key.span()[3] = 7;
  p.endpoint = *transport::Endpoint::Parse("[fd18::2]:51821");
  p.last_handshake = {1700000000, 42};
  p.rx_bytes = 1234;
  p.tx_bytes = 56789;
  p.persistent_keepalive = 25;
  p.allowed_ips = {*routing::IpPrefix::Parse("198.19.0.2/32"),
                   *routing::IpPrefix::Parse("fd19::2/128")};
  s.peers.push_back(p);
  device::PeerStatus q;
  q.public_key = crypto::PublicFromPrivate(crypto::GeneratePrivateKey());
  s.peers.push_back(q);
  return s;
}

TEST(UapiClientTest, ParsesWhatTheServerFormats) {
  crypto::PrivateKey priv;
  const device::DeviceStatus s = SampleStatus(priv);
  const SecretString text = FormatGet(s);
  auto info = ParseGetReply(std::string_view(text.data(), text.size()));
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->public_key, crypto::KeyToBase64(crypto::PublicFromPrivate(priv)));
  EXPECT_EQ(info->listen_port, 51820);
  EXPECT_EQ(info->fwmark, 0x1234u);
  ASSERT_EQ(info->peers.size(), 2u);
  const PeerInfo& p = info->peers[0];
  EXPECT_EQ(p.public_key, crypto::KeyToBase64(s.peers[0].public_key));
  EXPECT_TRUE(p.has_preshared_key);
  EXPECT_EQ(p.endpoint, "[fd18::2]:51821");
  EXPECT_EQ(p.last_handshake_sec, 1700000000);
  EXPECT_EQ(p.last_handshake_nsec, 42);
  EXPECT_EQ(p.rx_bytes, 1234u);
  EXPECT_EQ(p.tx_bytes, 56789u);
  EXPECT_EQ(p.persistent_keepalive, 25);
  EXPECT_EQ(p.allowed_ips, (std::vector<std::string>{"198.19.0.2/32", "fd19::2/128"}));
  EXPECT_FALSE(info->peers[1].has_preshared_key);
  EXPECT_EQ(info->peers[1].endpoint, "");
  EXPECT_EQ(info->peers[1].last_handshake_sec, 0);
}

TEST(UapiClientTest, NoPrivateKeyMeansNoPublicKey) {
  auto info = ParseGetReply("listen_port=1\nerrno=0\n\n");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->public_key, "");
  EXPECT_TRUE(info->peers.empty());
}

TEST(UapiClientTest, BadRepliesNameTheLine) {
  auto no_eq = ParseGetReply("listen_port=1\ngarbage\nerrno=0\n\n");
  ASSERT_FALSE(no_eq.ok());
  EXPECT_NE(no_eq.error().message().find("line 2"), std::string::npos);
  EXPECT_FALSE(ParseGetReply("listen_port=x\nerrno=0\n\n").ok());
  EXPECT_FALSE(ParseGetReply("listen_port=1\n").ok());  // cut short: no errno
  EXPECT_FALSE(ParseGetReply("bogus=1\nerrno=0\n\n").ok());
  EXPECT_FALSE(ParseGetReply("public_key=00\nerrno=0\n\n").ok());
  auto err = ParseGetReply("errno=-22\n\n");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().code(), 22);
}

TEST(UapiClientTest, StatsReply) {
  const std::string text = FormatStats({{"drop_no_route", 3}, {"tun_segments_split", 9}});
  auto stats = ParseStatsReply(text);
  ASSERT_TRUE(stats.ok());
  ASSERT_TRUE(stats->has_value());
  ASSERT_EQ((*stats)->size(), 2u);
  EXPECT_EQ((**stats)[0], (std::pair<std::string, uint64_t>{"drop_no_route", 3}));
  EXPECT_EQ((**stats)[1].second, 9u);
  auto empty = ParseStatsReply("");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());  // wireguard-go closes on an unknown operation
  EXPECT_FALSE(ParseStatsReply("drop_x=-1\nerrno=0\n\n").ok());
}

TEST(UapiClientTest, PeersReplyJoinsThePeersByKey) {
  crypto::PrivateKey priv;
  device::DeviceStatus s = SampleStatus(priv);
  s.transport = transport::TransportMode::kAuto;
  s.tcp_listen_port = 51820;
  s.peers[0].transport_mode = transport::TransportMode::kAuto;
  s.peers[0].transport_in_use = transport::Transport::kTcp;
  s.peers[0].transport_since = {1700000000, 5};
  s.peers[0].counters = {.rx_packets = 10,
                         .tx_packets = 20,
                         .handshakes = 2,
                         .initiations_sent = 3,
                         .dropped = 4,
                         .shaped_in = 5,
                         .shaped_out = 6};
  s.peers[0].shaping = {.speed = {.in_kbit = 10000, .out_kbit = 64}, .burst = 9000};
  const SecretString get = FormatGet(s);
  auto info = ParseGetReply(std::string_view(get.data(), get.size()));
  ASSERT_TRUE(info.ok());
  // A peer only the second reply knows (added in between) is skipped.
  device::DeviceStatus later = s;
  device::PeerStatus extra;
  extra.public_key[0] = 9;
  later.peers.push_back(extra);
  std::string peers = FormatPeers(later);
  peers.insert(peers.find("errno="), "some_future_key=1\n");  // unknown keys are skipped
  ASSERT_TRUE(ParsePeersReply(peers, *info).ok());
  EXPECT_EQ(info->transport, "auto");
  EXPECT_EQ(info->tcp_listen_port, 51820);
  ASSERT_EQ(info->peers.size(), 2u);
  ASSERT_TRUE(info->peers[0].tundra.has_value());
  const PeerTundraInfo& t = *info->peers[0].tundra;
  EXPECT_EQ(t.transport, "auto");
  EXPECT_EQ(t.transport_in_use, "tcp");
  EXPECT_EQ(t.transport_since_sec, 1700000000);
  EXPECT_EQ(t.counters.rx_packets, 10u);
  EXPECT_EQ(t.counters.tx_packets, 20u);
  EXPECT_EQ(t.counters.handshakes, 2u);
  EXPECT_EQ(t.counters.initiations_sent, 3u);
  EXPECT_EQ(t.counters.dropped, 4u);
  EXPECT_EQ(t.counters.shaped_in, 5u);
  EXPECT_EQ(t.counters.shaped_out, 6u);
  EXPECT_EQ(t.shaping, s.peers[0].shaping);
  ASSERT_TRUE(info->peers[1].tundra.has_value());
  EXPECT_EQ(info->peers[1].tundra->transport_in_use, "udp");

  InterfaceInfo untouched = *info;
  untouched.peers[0].tundra.reset();
  ASSERT_TRUE(ParsePeersReply("", untouched).ok());  // wireguard-go: no such operation
  EXPECT_FALSE(untouched.peers[0].tundra.has_value());
  EXPECT_FALSE(ParsePeersReply("transport=udp\n", untouched).ok());  // cut short
  std::string bad_text = peers;
  const size_t at = bad_text.find("rx_packets=10");
  bad_text.replace(at, 13, "rx_packets=x");
  const size_t line =
      size_t(std::count(bad_text.begin(), bad_text.begin() + ptrdiff_t(at), '\n')) + 1;
  auto bad = ParsePeersReply(bad_text, untouched);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find(fmt::format("line {}: bad value for rx_packets", line)),
            std::string::npos)
      << bad.error().message();
}

TEST(UapiClientTest, ExchangeOverASocket) {
  char dir[] = "/tmp/tundra-client-test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/t.sock";
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  std::string got;
  std::thread server([&] {
    UniqueFd c(::accept(listener.get(), nullptr, nullptr));
    char buf[64];
    ssize_t n = ::read(c.get(), buf, sizeof(buf));
    if (n > 0) got.assign(buf, size_t(n));
    const char reply[] = "listen_port=7\nerrno=0\n\n";
    (void)!::write(c.get(), reply, sizeof(reply) - 1);
  });
  auto reply = Exchange(path, SecretString("get=1\n\n"));
  server.join();
  ::unlink(path.c_str());
  ::rmdir(dir);
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(got, "get=1\n\n");
  EXPECT_EQ(std::string(reply->data(), reply->size()), "listen_port=7\nerrno=0\n\n");
  EXPECT_FALSE(Exchange(path, SecretString("get=1\n\n")).ok());  // gone: connect fails
}

TEST(UapiClientTest, PeersReplyInTapMode) {
  crypto::PrivateKey priv;
  device::DeviceStatus s = SampleStatus(priv);
  s.tap = true;
  s.switch_mode = l2::Mode::kHub;
  s.forward = true;
  s.mac_capacity = 1024;
  s.mac_expiry = std::chrono::seconds(300);
  s.mac_stats = {.size = 4,
                 .learned = 10,
                 .moved = 2,
                 .evicted = 3,
                 .evicted_chain = 4,
                 .expired = 5,
                 .removed = 6,
                 .deferred = 7};
  s.peers[0].allowed_ips.clear();
  s.peers[0].allowed_macs = {*l2::ParseMacPrefix("52:54:00:00:00:00/24")};
  s.peers[0].mac_entries = 3;
  s.peers[0].l2_drops[size_t(l2::DropReason::kNotForwarding)] = 8;
  const SecretString get = FormatGet(s);
  auto info = ParseGetReply(std::string_view(get.data(), get.size()));
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_FALSE(info->tap.has_value());  // get=1 says nothing of it
  const std::string peers = FormatPeers(s);
  ASSERT_TRUE(ParsePeersReply(peers, *info).ok());
  ASSERT_TRUE(info->tap.has_value());
  EXPECT_EQ(info->tap->switch_mode, l2::Mode::kHub);
  EXPECT_TRUE(info->tap->forward);
  EXPECT_EQ(info->tap->mac_capacity, 1024u);
  EXPECT_EQ(info->tap->mac_expiry_sec, 300u);
  EXPECT_EQ(info->tap->mac_stats.size, 4u);
  EXPECT_EQ(info->tap->mac_stats.learned, 10u);
  EXPECT_EQ(info->tap->mac_stats.moved, 2u);
  EXPECT_EQ(info->tap->mac_stats.evicted, 3u);
  EXPECT_EQ(info->tap->mac_stats.evicted_chain, 4u);
  EXPECT_EQ(info->tap->mac_stats.expired, 5u);
  EXPECT_EQ(info->tap->mac_stats.removed, 6u);
  EXPECT_EQ(info->tap->mac_stats.deferred, 7u);
  const PeerTundraInfo& t = *info->peers[0].tundra;
  EXPECT_EQ(t.allowed_macs, std::vector<std::string>{"52:54:00:00:00:00/24"});
  EXPECT_EQ(t.mac_entries, 3u);
  EXPECT_EQ(t.l2_drops[size_t(l2::DropReason::kNotForwarding)], 8u);
  EXPECT_EQ(t.l2_drops[size_t(l2::DropReason::kIpOnTap)], 0u);
  EXPECT_TRUE(info->peers[1].tundra->allowed_macs.empty());

  // A TUN-mode reply leaves tap unset.
  device::DeviceStatus tun = s;
  tun.tap = false;
  auto tun_info = ParseGetReply(std::string_view(get.data(), get.size()));
  ASSERT_TRUE(tun_info.ok());
  ASSERT_TRUE(ParsePeersReply(FormatPeers(tun), *tun_info).ok());
  EXPECT_FALSE(tun_info->tap.has_value());

  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"switch=hub", "switch=router"},
           {"forward=yes", "forward=1"},
           {"mac_table=4/1024", "mac_table=4"},
           {"mac_learned=10", "mac_learned=x"},
           {"mode=tap", "mode=l2"},
           {"mac_entries=3", "mac_entries=-1"},
           {"l2_drop_not_forwarding=8", "l2_drop_not_forwarding=x"}}) {
    std::string text = peers;
    text.replace(text.find(from), from.size(), to);
    auto again = ParseGetReply(std::string_view(get.data(), get.size()));
    ASSERT_TRUE(again.ok());
    auto bad = ParsePeersReply(text, *again);
    ASSERT_FALSE(bad.ok()) << to;
    const std::string key = to.substr(0, to.find('='));
    EXPECT_NE(bad.error().message().find("bad value for " + key), std::string::npos)
        << bad.error().message();
  }
}

}  // namespace
}  // namespace tundra::uapi
