#include "tundra/cli/show.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace tundra::cli {
namespace {

std::vector<ShownInterface> Sample() {
  ShownInterface a;
  a.name = "wg0";
  a.info.public_key = "PUBA";
  a.info.listen_port = 51820;
  a.info.fwmark = 0x10;
  uapi::PeerInfo p;
  p.public_key = "PEER+1/=";
  p.has_preshared_key = true;
  p.endpoint = "[fd18::2]:51821";
  p.allowed_ips = {"198.19.0.2/32", "fd19::2/128"};
  p.last_handshake_sec = 1000;
  p.rx_bytes = 2048;
  p.tx_bytes = 5;
  p.persistent_keepalive = 25;
  p.tundra =
      uapi::PeerTundraInfo{.transport = "auto",
                           .transport_in_use = "tcp",
                           .shaping = {.speed = {.in_kbit = 10000, .out_kbit = 0}, .burst = 0},
                           .compression = {},
                           .compression_active = false,
                           .counters = {.rx_packets = 40,
                                        .tx_packets = 41,
                                        .handshakes = 2,
                                        .initiations_sent = 3,
                                        .dropped = 7,
                                        .shaped_in = 5,
                                        .shaped_out = 0,
                                        .compress_tx_packets = 0,
                                        .compress_tx_compressed = 0,
                                        .compress_tx_before = 0,
                                        .compress_tx_after = 0,
                                        .compress_rx_packets = 0,
                                        .compress_rx_before = 0,
                                        .compress_rx_after = 0},
                           .allowed_macs = {},
                           .mac_entries = 0,
                           .l2_drops = {}};
  a.info.peers.push_back(p);
  a.info.transport = "auto";
  a.info.tcp_listen_port = 51820;
  a.counters = CounterList{{"drop_invalid_mac1", 2},
                           {"drop_no_route", 1},
                           {"tun_drop_bad_header", 0},
                           {"icmp_unreachable_sent", 1},
                           {"tun_segments_split", 160901}};
  ShownInterface b;  // a wireguard-go interface: no tundra counters, a peer never seen
  b.name = "wg\"1";
  uapi::PeerInfo q;
  q.public_key = "PEER2";
  b.info.peers.push_back(q);
  return {a, b};
}

TEST(ShowTest, TextHasWgShowFieldsAndNoSecrets) {
  const std::string t = FormatShowText(Sample(), 1065);
  EXPECT_NE(t.find("interface: wg0\n  public key: PUBA\n  private key: (hidden)\n"
                   "  listening port: 51820\n  fwmark: 0x10\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("  dropped packets: 3 (invalid_mac1 2, no_route 1)\n"), std::string::npos);
  EXPECT_NE(t.find("peer: PEER+1/=\n  preshared key: (hidden)\n  endpoint: [fd18::2]:51821\n"
                   "  allowed ips: 198.19.0.2/32, fd19::2/128\n"
                   "  latest handshake: 1 minute, 5 seconds ago\n"
                   "  transfer: 2.00 KiB received, 5 B sent\n"
                   "  persistent keepalive: every 25 seconds\n"
                   "  transport: tcp (auto)\n"
                   "  packets: 40 received, 41 sent, 7 dropped\n"
                   "  handshakes: 2 (3 initiations sent)\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("  fwmark: 0x10\n  transport: auto (tcp listening port 51820)\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("not a tundra daemon"), std::string::npos);
  EXPECT_NE(t.find("peer: PEER2\n  allowed ips: (none)\n"), std::string::npos) << t;
}

TEST(ShowTest, JsonParsesWithEveryField) {
  const auto j = nlohmann::json::parse(FormatShowJson(Sample()));
  ASSERT_EQ(j["interfaces"].size(), 2u);
  const auto& a = j["interfaces"][0];
  EXPECT_EQ(a["name"], "wg0");
  EXPECT_EQ(a["public_key"], "PUBA");
  EXPECT_EQ(a["listen_port"], 51820);
  EXPECT_EQ(a["fwmark"], 16);
  const auto& p = a["peers"][0];
  EXPECT_EQ(p["public_key"], "PEER+1/=");
  EXPECT_EQ(p["preshared_key"], true);  // whether there is one, never the key
  EXPECT_EQ(p["endpoint"], "[fd18::2]:51821");
  EXPECT_EQ(p["allowed_ips"], nlohmann::json({"198.19.0.2/32", "fd19::2/128"}));
  EXPECT_EQ(p["latest_handshake"], 1000);
  EXPECT_EQ(p["transfer_rx"], 2048);
  EXPECT_EQ(p["transfer_tx"], 5);
  EXPECT_EQ(p["persistent_keepalive"], 25);
  EXPECT_EQ(p["tundra"]["transport"], "auto");
  EXPECT_EQ(p["tundra"]["transport_in_use"], "tcp");
  EXPECT_EQ(p["tundra"]["rx_packets"], 40);
  EXPECT_EQ(p["tundra"]["tx_packets"], 41);
  EXPECT_EQ(p["tundra"]["handshakes"], 2);
  EXPECT_EQ(p["tundra"]["handshake_initiations"], 3);
  EXPECT_EQ(p["tundra"]["dropped"], 7);
  EXPECT_EQ(a["tundra"]["transport"], "auto");
  EXPECT_EQ(a["tundra"]["tcp_listen_port"], 51820);
  EXPECT_EQ(a["tundra"]["dropped_total"], 3);
  EXPECT_EQ(a["tundra"]["dropped"]["invalid_mac1"], 2);
  EXPECT_EQ(a["tundra"]["tun_dropped"]["bad_header"], 0);
  EXPECT_EQ(a["tundra"]["counters"]["tun_segments_split"], 160901);
  const auto& b = j["interfaces"][1];
  EXPECT_EQ(b["name"], "wg\"1");
  EXPECT_TRUE(b["public_key"].is_null());
  EXPECT_TRUE(b["tundra"].is_null());
  EXPECT_TRUE(b["peers"][0]["endpoint"].is_null());
  EXPECT_TRUE(b["peers"][0]["tundra"].is_null());
  EXPECT_EQ(nlohmann::json::parse(FormatShowJson({}))["interfaces"].size(), 0u);
}

// Every line is a HELP, a TYPE or a sample; a family's HELP and TYPE come once, before its
// samples; counters end in _total; label values are quoted and escaped.
TEST(ShowTest, PrometheusIsValidExposition) {
  const std::string text = FormatShowPrometheus(Sample());
  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\} ([0-9]+))");
  std::map<std::string, std::string> types;
  std::set<std::string> closed;
  std::string current;
  std::map<std::string, uint64_t> values;
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, help)) {
      ASSERT_EQ(closed.count(m[1]), 0u) << "family repeated: " << line;
      if (!current.empty()) closed.insert(current);
      current = m[1];
    } else if (std::regex_match(line, m, type)) {
      ASSERT_EQ(m[1], current) << line;
      types[m[1]] = m[2];
      if (m[2] == "counter") {
        EXPECT_TRUE(current.ends_with("_total")) << line;
      }
    } else if (std::regex_match(line, m, sample)) {
      ASSERT_EQ(m[1], current) << "sample outside its family: " << line;
      values[std::string(m[1]) + "{" + std::string(m[2]) + "}"] = std::stoull(m[3]);
    } else {
      ADD_FAILURE() << "bad line: " << line;
    }
  }
  EXPECT_EQ(values["tundra_peer_receive_bytes_total{interface=\"wg0\",peer=\"PEER+1/=\"}"], 2048u);
  EXPECT_EQ(values["tundra_peer_transmit_bytes_total{interface=\"wg0\",peer=\"PEER+1/=\"}"], 5u);
  EXPECT_EQ(values["tundra_interface_listen_port{interface=\"wg\\\"1\"}"], 0u);
  EXPECT_EQ(values.count("tundra_interface_listen_port{interface=\"wg\\\"1\"}"), 1u);
  EXPECT_EQ(values["tundra_dropped_packets_total{interface=\"wg0\",reason=\"invalid_mac1\"}"], 2u);
  EXPECT_EQ(values["tundra_tun_segments_split_total{interface=\"wg0\"}"], 160901u);
  EXPECT_EQ(values["tundra_icmp_unreachable_sent_total{interface=\"wg0\"}"], 1u);
  EXPECT_EQ(types["tundra_peer_latest_handshake_seconds"], "gauge");
  const std::string peer1 = "{interface=\"wg0\",peer=\"PEER+1/=\"}";
  EXPECT_EQ(values["tundra_peer_receive_packets_total" + peer1], 40u);
  EXPECT_EQ(values["tundra_peer_transmit_packets_total" + peer1], 41u);
  EXPECT_EQ(values["tundra_peer_handshakes_total" + peer1], 2u);
  EXPECT_EQ(values["tundra_peer_handshake_initiations_total" + peer1], 3u);
  EXPECT_EQ(values["tundra_peer_dropped_packets_total" + peer1], 7u);
  EXPECT_EQ(values["tundra_peer_transport_tcp" + peer1], 1u);
  EXPECT_EQ(types["tundra_peer_transport_tcp"], "gauge");
  // wireguard-go's peer has none of tundra's per-peer samples.
  EXPECT_EQ(values.count("tundra_peer_dropped_packets_total{interface=\"wg\\\"1\",peer=\"PEER2\"}"),
            0u);
  EXPECT_EQ(values["tundra_peer_latest_handshake_seconds{interface=\"wg\\\"1\",peer=\"PEER2\"}"],
            0u);
}

// A TAP-mode interface (docs/l2.md) as tundra_peers=1 reports it.
ShownInterface TapSample() {
  ShownInterface t;
  t.name = "tap0";
  t.info.listen_port = 51820;
  t.info.transport = "udp";
  t.info.tap = uapi::TapInfo{.switch_mode = l2::Mode::kSwitch,
                             .forward = true,
                             .mac_capacity = 8192,
                             .mac_expiry_sec = 600,
                             .mac_stats = {.size = 3,
                                           .learned = 5,
                                           .moved = 0,
                                           .evicted = 0,
                                           .evicted_chain = 0,
                                           .expired = 2,
                                           .removed = 0,
                                           .deferred = 0}};
  t.counters = CounterList{};
  uapi::PeerInfo p;
  p.public_key = "SPOKE1";
  p.tundra.emplace();
  p.tundra->transport = p.tundra->transport_in_use = "udp";
  p.tundra->allowed_macs = {"52:54:00:00:00:00/24", "02:00:00:00:00:01"};
  p.tundra->mac_entries = 2;
  p.tundra->l2_drops[size_t(l2::DropReason::kSourceNotAllowed)] = 4;
  p.tundra->l2_drops[size_t(l2::DropReason::kIpOnTap)] = 1;
  t.info.peers.push_back(p);
  uapi::PeerInfo q;
  q.public_key = "SPOKE2";
  q.tundra.emplace();
  q.tundra->transport = q.tundra->transport_in_use = "udp";
  t.info.peers.push_back(q);
  return t;
}

TEST(ShowTest, TapModeText) {
  const std::string t = FormatShowText({TapSample()}, 1000);
  EXPECT_NE(t.find("  transport: udp\n  mode: tap (switch, forward yes)\n"
                   "  mac table: 3/8192 entries, expiry 600 s\n"
                   "  mac counters: learned 5, expired 2\n  dropped packets: 0\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("peer: SPOKE1\n  allowed macs: 52:54:00:00:00:00/24, 02:00:00:00:00:01\n"
                   "  macs learned: 2\n  dropped frames: 5 (ip_on_tap 1, source_mac_not_allowed "
                   "4)\n  transport: udp\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("peer: SPOKE2\n  allowed macs: (any)\n  macs learned: 0\n  transport: udp\n"),
            std::string::npos)
      << t;
  EXPECT_EQ(t.find("allowed ips"), std::string::npos) << t;  // no role in TAP mode
  // Hub mode, no counters yet: no counter line.
  ShownInterface hub = TapSample();
  hub.info.tap->switch_mode = l2::Mode::kHub;
  hub.info.tap->forward = false;
  hub.info.tap->mac_stats = {};
  const std::string h = FormatShowText({hub}, 1000);
  EXPECT_NE(h.find("  mode: tap (hub, forward no)\n  mac table: 0/8192 entries, expiry 600 s\n"
                   "  dropped packets"),
            std::string::npos)
      << h;
}

TEST(ShowTest, TunModeHasNoTapLines) {
  const std::vector<ShownInterface> tun = Sample();
  const std::string t = FormatShowText(tun, 1065);
  for (const char* word :
       {"mode:", "mac table", "macs learned", "allowed macs", "dropped frames"}) {
    EXPECT_EQ(t.find(word), std::string::npos) << word;
  }
  const std::string j = FormatShowJson(tun);
  for (const char* word : {"\"mode\"", "mac_table", "allowed_macs", "dropped_frames"}) {
    EXPECT_EQ(j.find(word), std::string::npos) << word;
  }
}

TEST(ShowTest, TapModeJson) {
  const auto j = nlohmann::json::parse(FormatShowJson({TapSample()}));
  const auto& t = j["interfaces"][0]["tundra"];
  EXPECT_EQ(t["mode"], "tap");
  EXPECT_EQ(t["switch"], "switch");
  EXPECT_EQ(t["forward"], true);
  EXPECT_EQ(t["mac_table"]["entries"], 3);
  EXPECT_EQ(t["mac_table"]["capacity"], 8192);
  EXPECT_EQ(t["mac_table"]["expiry"], 600);
  EXPECT_EQ(t["mac_table"]["expired"], 2);
  const auto& p = j["interfaces"][0]["peers"][0]["tundra"];
  EXPECT_EQ(p["allowed_macs"][1], "02:00:00:00:00:01");
  EXPECT_EQ(p["mac_entries"], 2);
  EXPECT_EQ(p["dropped_frames"]["source_mac_not_allowed"], 4);
  EXPECT_EQ(p["dropped_frames"]["to_ingress"], 0);
  EXPECT_EQ(j["interfaces"][0]["peers"][1]["tundra"]["allowed_macs"].size(), 0u);
}

TEST(ShowTest, TapModePrometheus) {
  const std::string tun = FormatShowPrometheus(Sample());
  for (const char* family : {"tundra_mac_table", "tundra_peer_mac_entries", "dropped_frames"}) {
    EXPECT_EQ(tun.find(family), std::string::npos) << family;  // TUN: none of them
  }
  const std::string text = FormatShowPrometheus({TapSample()});
  const std::regex sample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} ([0-9]+))");
  std::map<std::string, uint64_t> values;
  std::map<std::string, int> families;
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.starts_with("# HELP ")) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_EQ(families[name]++, 0) << "family repeated: " << name;
    } else if (std::regex_match(line, m, sample)) {
      values[std::string(m[1]) + "{" + std::string(m[2]) + "}"] = std::stoull(m[3]);
    } else {
      EXPECT_TRUE(line.starts_with("# TYPE ")) << line;
    }
  }
  EXPECT_EQ(values["tundra_mac_table_entries{interface=\"tap0\"}"], 3u);
  EXPECT_EQ(values["tundra_mac_table_capacity{interface=\"tap0\"}"], 8192u);
  EXPECT_EQ(values["tundra_mac_table_events_total{interface=\"tap0\",event=\"expired\"}"], 2u);
  EXPECT_EQ(values["tundra_peer_mac_entries{interface=\"tap0\",peer=\"SPOKE1\"}"], 2u);
  EXPECT_EQ(values["tundra_peer_dropped_frames_total{interface=\"tap0\",peer=\"SPOKE1\",reason="
                   "\"source_mac_not_allowed\"}"],
            4u);
  EXPECT_EQ(values.count("tundra_peer_dropped_frames_total{interface=\"tap0\",peer=\"SPOKE2\","
                         "reason=\"to_ingress\"}"),
            1u);
}

}  // namespace
}  // namespace tundra::cli

namespace tundra::cli {
namespace {

TEST(ShowTest, CompressionLineOnlyWhenConfiguredOrUsed) {
  std::vector<ShownInterface> s = Sample();
  uapi::PeerTundraInfo& t = *s[0].info.peers[0].tundra;
  // Off and never used: no line (the sample).
  EXPECT_EQ(FormatShowText(s, 1065).find("compression"), std::string::npos);
  // Configured, the peer's hello not yet here.
  t.compression = {compress::Algorithm::kZstd, 3};
  EXPECT_NE(FormatShowText(s, 1065).find(
                "  compression: zstd:3 (waiting for the peer's hello); sent 0 B as 0 B "
                "(0 of 0 packets compressed), received 0 B as 0 B (0 packets)\n"),
            std::string::npos)
      << FormatShowText(s, 1065);
  // In use, with counters.
  t.compression = {compress::Algorithm::kLz4, 0};
  t.compression_active = true;
  t.counters.compress_tx_packets = 10;
  t.counters.compress_tx_compressed = 7;
  t.counters.compress_tx_before = 10240;
  t.counters.compress_tx_after = 2048;
  t.counters.compress_rx_packets = 3;
  t.counters.compress_rx_before = 600;
  t.counters.compress_rx_after = 3072;
  const std::string text = FormatShowText(s, 1065);
  EXPECT_NE(text.find("  compression: lz4 (in use); sent 10.00 KiB as 2.00 KiB (7 of 10 packets "
                      "compressed), received 600 B as 3.00 KiB (3 packets)\n"),
            std::string::npos)
      << text;
  // Turned off after use: still shown, so the counters are not lost from view.
  t.compression = {};
  t.compression_active = false;
  EXPECT_NE(FormatShowText(s, 1065).find("  compression: none (off); sent 10.00 KiB"),
            std::string::npos);
  // JSON carries the setting and the counters.
  const auto j = nlohmann::json::parse(FormatShowJson(s));
  const auto& peer = j["interfaces"][0]["peers"][0]["tundra"];
  EXPECT_EQ(peer["compression"], "none");
  EXPECT_EQ(peer["compress_tx_before"], 10240);
  EXPECT_EQ(peer["compress_rx_after"], 3072);
}

}  // namespace
}  // namespace tundra::cli

namespace tundra::cli {
namespace {

TEST(ShowTest, TransportSaysSinceWhen) {
  std::vector<ShownInterface> s = Sample();
  s[0].info.peers[0].tundra->transport_since_sec = 1000;
  const std::string t = FormatShowText(s, 1065);
  EXPECT_NE(t.find("  transport: tcp (auto), in use since 1 minute, 5 seconds ago\n"),
            std::string::npos)
      << t;
  const auto j = nlohmann::json::parse(FormatShowJson(s));
  EXPECT_EQ(j["interfaces"][0]["peers"][0]["tundra"]["transport_since"], 1000);
}

}  // namespace
}  // namespace tundra::cli
