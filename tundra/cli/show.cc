#include "tundra/cli/show.h"

#include <dirent.h>
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "tundra/uapi/server.h"

namespace tundra::cli {
namespace {

constexpr std::string_view kDropPrefix = "drop_";
constexpr std::string_view kTunDropPrefix = "tun_drop_";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// tundra_stats=1 counters in three groups: drops by reason, the TUN layer's drops by reason,
// and the rest (icmp_unreachable_sent, tun_* offload counters), each in the daemon's order.
struct GroupedCounters {
  CounterList drops, tun_drops, other;
  uint64_t drops_total = 0, tun_drops_total = 0;
};

GroupedCounters Group(const CounterList& counters) {
  GroupedCounters g;
  for (const auto& [name, value] : counters) {
    if (StartsWith(name, kTunDropPrefix)) {
      g.tun_drops.emplace_back(name.substr(kTunDropPrefix.size()), value);
      g.tun_drops_total += value;
    } else if (StartsWith(name, kDropPrefix)) {
      g.drops.emplace_back(name.substr(kDropPrefix.size()), value);
      g.drops_total += value;
    } else {
      g.other.emplace_back(name, value);
    }
  }
  return g;
}

// --- text (wg show's layout) ---

std::string Plural(int64_t n, const char* unit) {
  return fmt::format("{} {}{}", n, unit, n == 1 ? "" : "s");
}

// wg's "1 hour, 2 minutes, 3 seconds ago".
std::string Ago(int64_t then, int64_t now) {
  if (then == 0) return "(none)";
  int64_t left = now - then;
  if (left < 0) return "in the future";
  if (left == 0) return "now";
  std::vector<std::string> parts;
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {365 * 24 * 3600, "year"}, {24 * 3600, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
  for (const auto& [size, unit] : kUnits) {
    if (left >= size) {
      parts.push_back(Plural(left / size, unit));
      left %= size;
    }
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out + " ago";
}

// wg's "1.23 MiB".
std::string Bytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = double(n) / 1024;
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.2f} {}", v, kUnits[u]);
}

std::string CounterLine(const CounterList& list, bool skip_zero) {
  std::string out;
  for (const auto& [name, value] : list) {
    if (skip_zero && value == 0) continue;
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, value);
  }
  return out;
}

// TAP mode (docs/l2.md): the interface's switch and MAC table, the non-zero table counters.
std::string TapText(const uapi::TapInfo& t) {
  const l2::MacTableStats& m = t.mac_stats;
  std::string out =
      fmt::format("  mode: tap ({}, forward {})\n  mac table: {}/{} entries, expiry {} s\n",
                  l2::ModeName(t.switch_mode), t.forward ? "yes" : "no", m.size, t.mac_capacity,
                  t.mac_expiry_sec);
  const CounterList counters = {{"learned", m.learned},        {"moved", m.moved},
                                {"evicted", m.evicted},        {"evicted_chain", m.evicted_chain},
                                {"expired", m.expired},        {"removed", m.removed},
                                {"learn_deferred", m.deferred}};
  const std::string line = CounterLine(counters, true);
  if (!line.empty()) out += fmt::format("  mac counters: {}\n", line);
  return out;
}

// A TAP-mode peer: its AllowedMACs, the MACs learned behind it, its frames dropped by reason.
std::string PeerTapText(const uapi::PeerTundraInfo& t) {
  std::string macs;
  for (const std::string& m : t.allowed_macs) macs += (macs.empty() ? "" : ", ") + m;
  std::string out = fmt::format("  allowed macs: {}\n  macs learned: {}\n",
                                macs.empty() ? "(any)" : macs, t.mac_entries);
  CounterList drops;
  uint64_t total = 0;
  for (size_t r = 1; r < l2::kDropReasonCount; ++r) {
    drops.emplace_back(l2::DropReasonName(l2::DropReason(r)), t.l2_drops[r]);
    total += t.l2_drops[r];
  }
  if (total != 0)
    out += fmt::format("  dropped frames: {} ({})\n", total, CounterLine(drops, true));
  return out;
}

// --- JSON ---

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", int(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string JsonOrNull(const std::string& s) { return s.empty() ? "null" : JsonString(s); }

// TAP mode's per-peer members (after the others); "" in TUN mode.
std::string PeerTapJson(const uapi::PeerTundraInfo& t, bool tap) {
  if (!tap) return "";
  std::string macs, drops;
  for (const std::string& m : t.allowed_macs) macs += (macs.empty() ? "" : ", ") + JsonString(m);
  for (size_t r = 1; r < l2::kDropReasonCount; ++r) {
    drops += fmt::format("{}{}: {}", drops.empty() ? "" : ", ",
                         JsonString(l2::DropReasonName(l2::DropReason(r))), t.l2_drops[r]);
  }
  return fmt::format(", \"allowed_macs\": [{}], \"mac_entries\": {}, \"dropped_frames\": {{{}}}",
                     macs, t.mac_entries, drops);
}

std::string PeerTundraJson(const uapi::PeerInfo& p, bool tap) {
  if (!p.tundra) return "null";
  const device::PeerCounterValues& c = p.tundra->counters;
  const device::Shaping& s = p.tundra->shaping;
  return fmt::format(
      "{{\"transport\": {}, \"transport_in_use\": {}, \"transport_since\": {}, "
      "\"rx_packets\": {}, "
      "\"tx_packets\": {}, \"handshakes\": {}, \"handshake_initiations\": {}, "
      "\"dropped\": {}, \"speed_in_kbit\": {}, \"speed_out_kbit\": {}, \"burst\": {}, "
      "\"shaped_in\": {}, \"shaped_out\": {}, \"compression\": {}, \"compression_active\": {}, "
      "\"compress_tx_packets\": {}, \"compress_tx_compressed\": {}, \"compress_tx_before\": {}, "
      "\"compress_tx_after\": {}, \"compress_rx_packets\": {}, \"compress_rx_before\": {}, "
      "\"compress_rx_after\": {}{}}}",
      JsonOrNull(p.tundra->transport), JsonOrNull(p.tundra->transport_in_use),
      p.tundra->transport_since_sec, c.rx_packets, c.tx_packets, c.handshakes, c.initiations_sent,
      c.dropped, s.speed.in_kbit, s.speed.out_kbit, s.burst, c.shaped_in, c.shaped_out,
      JsonString(compress::FormatSetting(p.tundra->compression)),
      p.tundra->compression_active ? "true" : "false", c.compress_tx_packets,
      c.compress_tx_compressed, c.compress_tx_before, c.compress_tx_after, c.compress_rx_packets,
      c.compress_rx_before, c.compress_rx_after, PeerTapJson(*p.tundra, tap));
}

// TAP mode's interface members (after the others in "tundra"); "" in TUN mode.
std::string TapJson(const std::optional<uapi::TapInfo>& tap) {
  if (!tap) return "";
  const l2::MacTableStats& m = tap->mac_stats;
  return fmt::format(
      ",\n        \"mode\": \"tap\",\n        \"switch\": {},\n        \"forward\": {},\n"
      "        \"mac_table\": {{\"entries\": {}, \"capacity\": {}, \"expiry\": {}, "
      "\"learned\": {}, \"moved\": {}, \"evicted\": {}, \"evicted_chain\": {}, \"expired\": {}, "
      "\"removed\": {}, \"learn_deferred\": {}}}",
      JsonString(l2::ModeName(tap->switch_mode)), tap->forward ? "true" : "false", m.size,
      tap->mac_capacity, tap->mac_expiry_sec, m.learned, m.moved, m.evicted, m.evicted_chain,
      m.expired, m.removed, m.deferred);
}

std::string JsonObject(const CounterList& list, const std::string& indent) {
  if (list.empty()) return "{}";
  std::string out = "{\n";
  for (size_t i = 0; i < list.size(); ++i) {
    out += fmt::format("{}  {}: {}{}\n", indent, JsonString(list[i].first), list[i].second,
                       i + 1 < list.size() ? "," : "");
  }
  return out + indent + "}";
}

// --- Prometheus text exposition format ---

std::string LabelValue(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// A metric name from a counter name: anything outside [a-zA-Z0-9_] becomes '_'.
std::string MetricName(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) c = '_';
  }
  return out;
}

std::string OtherCounterHelp(const std::string& name) {
  static const std::map<std::string, std::string> kHelp = {
      {"icmp_unreachable_sent",
       "ICMP destination-unreachable errors written back for packets no peer could take."},
      {"tun_super_packets_read", "TSO/USO super-packets read from the TUN device."},
      {"tun_segments_split", "Segments the super-packets read from the TUN were split into."},
      {"tun_super_packets_written", "GRO super-packets written to the TUN device."},
      {"tun_packets_coalesced", "Packets coalesced into the super-packets written to the TUN."},
  };
  auto it = kHelp.find(name);
  return it != kHelp.end() ? it->second : fmt::format("tundra counter {}.", name);
}

class Exposition {
 public:
  // Starts a metric family: its HELP and TYPE lines (every sample of it follows at once).
  void Family(const std::string& name, const std::string& type, const std::string& help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void Sample(const std::string& name, const std::string& labels, uint64_t value) {
    out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string IfLabel(const ShownInterface& i) {
  return fmt::format("interface=\"{}\"", LabelValue(i.name));
}
std::string PeerLabels(const ShownInterface& i, const uapi::PeerInfo& p) {
  return fmt::format("{},peer=\"{}\"", IfLabel(i), LabelValue(p.public_key));
}

// TAP mode's families (docs/l2.md), when any interface runs in TAP mode: the MAC table and
// per peer the MACs learned and the frames dropped by reason.
void TapPrometheus(const std::vector<ShownInterface>& interfaces, Exposition& e) {
  if (std::none_of(interfaces.begin(), interfaces.end(),
                   [](const ShownInterface& i) { return i.info.tap.has_value(); })) {
    return;
  }
  auto per_tap = [&](const std::string& name, const std::string& type, const std::string& help,
                     auto value) {
    e.Family(name, type, help);
    for (const ShownInterface& i : interfaces) {
      if (i.info.tap) e.Sample(name, IfLabel(i), value(*i.info.tap));
    }
  };
  per_tap("tundra_mac_table_entries", "gauge", "MACs in the TAP-mode MAC table.",
          [](const uapi::TapInfo& t) { return uint64_t(t.mac_stats.size); });
  per_tap("tundra_mac_table_capacity", "gauge", "Entries the MAC table holds (MACTableSize).",
          [](const uapi::TapInfo& t) { return uint64_t(t.mac_capacity); });
  e.Family("tundra_mac_table_events_total", "counter",
           "MAC table events: learned, moved, evicted, evicted_chain, expired, removed, "
           "learn_deferred.");
  for (const ShownInterface& i : interfaces) {
    if (!i.info.tap) continue;
    const l2::MacTableStats& m = i.info.tap->mac_stats;
    for (const auto& [event, value] : CounterList{{"learned", m.learned},
                                                  {"moved", m.moved},
                                                  {"evicted", m.evicted},
                                                  {"evicted_chain", m.evicted_chain},
                                                  {"expired", m.expired},
                                                  {"removed", m.removed},
                                                  {"learn_deferred", m.deferred}}) {
      e.Sample("tundra_mac_table_events_total", fmt::format("{},event=\"{}\"", IfLabel(i), event),
               value);
    }
  }
  e.Family("tundra_peer_mac_entries", "gauge", "MACs learned behind the peer (TAP mode).");
  for (const ShownInterface& i : interfaces) {
    if (!i.info.tap) continue;
    for (const uapi::PeerInfo& p : i.info.peers) {
      if (p.tundra) e.Sample("tundra_peer_mac_entries", PeerLabels(i, p), p.tundra->mac_entries);
    }
  }
  e.Family("tundra_peer_dropped_frames_total", "counter",
           "Frames from the peer dropped in TAP mode, by reason.");
  for (const ShownInterface& i : interfaces) {
    if (!i.info.tap) continue;
    for (const uapi::PeerInfo& p : i.info.peers) {
      if (!p.tundra) continue;
      for (size_t r = 1; r < l2::kDropReasonCount; ++r) {
        e.Sample("tundra_peer_dropped_frames_total",
                 fmt::format("{},reason=\"{}\"", PeerLabels(i, p),
                             l2::DropReasonName(l2::DropReason(r))),
                 p.tundra->l2_drops[r]);
      }
    }
  }
}

}  // namespace

Result<ShownInterface> ReadInterface(const std::string& name, const std::string& dir) {
  const std::string path = uapi::SocketPath(name, dir);
  ShownInterface shown;
  shown.name = name;
  auto get = uapi::Exchange(path, SecretString("get=1\n\n"));
  if (!get.ok()) return get.error();
  auto info = uapi::ParseGetReply(std::string_view(get->data(), get->size()));
  if (!info.ok()) return info.error().Wrap(path);
  shown.info = std::move(*info);
  auto stats = uapi::Exchange(path, SecretString("tundra_stats=1\n\n"));
  if (!stats.ok()) return stats.error();
  auto counters = uapi::ParseStatsReply(std::string_view(stats->data(), stats->size()));
  if (!counters.ok()) return counters.error().Wrap(path);
  shown.counters = std::move(*counters);
  if (!shown.counters) return shown;  // not tundra: no per-peer extension either
  auto peers = uapi::Exchange(path, SecretString("tundra_peers=1\n\n"));
  if (!peers.ok()) return peers.error();
  if (Status s = uapi::ParsePeersReply(std::string_view(peers->data(), peers->size()), shown.info);
      !s.ok()) {
    return std::move(s).error().Wrap(path);
  }
  return shown;
}

std::vector<std::string> ListInterfaces(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    constexpr std::string_view kSuffix = ".sock";
    if (n.size() > kSuffix.size() && n.substr(n.size() - kSuffix.size()) == kSuffix &&
        e->d_type == DT_SOCK) {
      names.emplace_back(n.substr(0, n.size() - kSuffix.size()));
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> RenderShow(const std::vector<std::string>& names, ShowFormat format,
                               const std::string& dir, std::vector<std::string>& warnings) {
  std::vector<ShownInterface> shown;
  if (names.empty()) {
    for (const std::string& name : ListInterfaces(dir)) {
      auto i = ReadInterface(name, dir);
      if (i.ok()) {
        shown.push_back(std::move(*i));
      } else {
        warnings.push_back(fmt::format("{}: {}", name, i.error().message()));
      }
    }
  } else {
    for (const std::string& name : names) {
      if (name.empty() || name.find('/') != std::string::npos) {
        return InvalidArgument(fmt::format("bad interface name '{}'", name));
      }
      auto i = ReadInterface(name, dir);
      if (!i.ok()) return i.error().Wrap(name);
      shown.push_back(std::move(*i));
    }
  }
  switch (format) {
    case ShowFormat::kJson:
      return FormatShowJson(shown);
    case ShowFormat::kPrometheus:
      return FormatShowPrometheus(shown);
    case ShowFormat::kText:
      break;
  }
  return FormatShowText(shown, ::time(nullptr));
}

std::string FormatShowText(const std::vector<ShownInterface>& interfaces, int64_t now_sec) {
  std::string out;
  for (const ShownInterface& i : interfaces) {
    if (!out.empty()) out += "\n";
    out += fmt::format("interface: {}\n", i.name);
    if (!i.info.public_key.empty()) {
      out += fmt::format("  public key: {}\n  private key: (hidden)\n", i.info.public_key);
    }
    if (i.info.listen_port != 0) out += fmt::format("  listening port: {}\n", i.info.listen_port);
    if (i.info.fwmark != 0) out += fmt::format("  fwmark: 0x{:x}\n", i.info.fwmark);
    if (!i.info.transport.empty()) {
      out += fmt::format("  transport: {}", i.info.transport);
      if (i.info.tcp_listen_port != 0) {
        out += fmt::format(" (tcp listening port {})", i.info.tcp_listen_port);
      }
      out += "\n";
    }
    if (i.info.tap) out += TapText(*i.info.tap);
    if (i.counters) {
      const GroupedCounters g = Group(*i.counters);
      out += fmt::format("  dropped packets: {}", g.drops_total);
      if (g.drops_total != 0) out += fmt::format(" ({})", CounterLine(g.drops, true));
      out += fmt::format("\n  tun dropped packets: {}", g.tun_drops_total);
      if (g.tun_drops_total != 0) out += fmt::format(" ({})", CounterLine(g.tun_drops, true));
      out += "\n";
      if (!g.other.empty()) out += fmt::format("  counters: {}\n", CounterLine(g.other, false));
    } else {
      out += "  (not a tundra daemon: no tundra counters)\n";
    }
    for (const uapi::PeerInfo& p : i.info.peers) {
      out += fmt::format("\npeer: {}\n", p.public_key);
      if (p.has_preshared_key) out += "  preshared key: (hidden)\n";
      if (!p.endpoint.empty()) out += fmt::format("  endpoint: {}\n", p.endpoint);
      if (i.info.tap && p.tundra) {
        out += PeerTapText(*p.tundra);  // AllowedIPs have no role in TAP mode
      } else {
        std::string ips;
        for (const std::string& ip : p.allowed_ips) ips += (ips.empty() ? "" : ", ") + ip;
        out += fmt::format("  allowed ips: {}\n", ips.empty() ? "(none)" : ips);
      }
      if (p.last_handshake_sec != 0) {
        out += fmt::format("  latest handshake: {}\n", Ago(p.last_handshake_sec, now_sec));
      }
      if (p.rx_bytes != 0 || p.tx_bytes != 0) {
        out +=
            fmt::format("  transfer: {} received, {} sent\n", Bytes(p.rx_bytes), Bytes(p.tx_bytes));
      }
      if (p.persistent_keepalive != 0) {
        out += fmt::format("  persistent keepalive: every {}\n",
                           Plural(p.persistent_keepalive, "second"));
      }
      if (p.tundra) {
        const device::PeerCounterValues& c = p.tundra->counters;
        out += fmt::format("  transport: {}", p.tundra->transport_in_use);
        if (p.tundra->transport != p.tundra->transport_in_use) {
          out += fmt::format(" ({})", p.tundra->transport);
        }
        if (p.tundra->transport_since_sec != 0) {
          out += fmt::format(", in use since {}", Ago(p.tundra->transport_since_sec, now_sec));
        }
        out += fmt::format(
            "\n  packets: {} received, {} sent, {} dropped\n  handshakes: {} ({} initiations "
            "sent)\n",
            c.rx_packets, c.tx_packets, c.dropped, c.handshakes, c.initiations_sent);
        const device::Shaping& s = p.tundra->shaping;
        if (s.speed.in_kbit != 0 || s.speed.out_kbit != 0) {
          auto rate = [](uint32_t kbit) {
            return kbit == 0 ? std::string("unlimited") : fmt::format("{} kbit/s", kbit);
          };
          out += fmt::format("  shaping: in {}, out {}, burst {}; {} in and {} out dropped\n",
                             rate(s.speed.in_kbit), rate(s.speed.out_kbit),
                             s.burst == 0 ? std::string("default") : Bytes(s.burst), c.shaped_in,
                             c.shaped_out);
        }
        if (p.tundra->compression.enabled() || c.compress_tx_packets != 0 ||
            c.compress_rx_packets != 0) {
          out += fmt::format(
              "  compression: {} ({}); sent {} as {} ({} of {} packets compressed), received "
              "{} as {} ({} packets)\n",
              compress::FormatSetting(p.tundra->compression),
              !p.tundra->compression.enabled() ? "off"
              : p.tundra->compression_active   ? "in use"
                                               : "waiting for the peer's hello",
              Bytes(c.compress_tx_before), Bytes(c.compress_tx_after), c.compress_tx_compressed,
              c.compress_tx_packets, Bytes(c.compress_rx_before), Bytes(c.compress_rx_after),
              c.compress_rx_packets);
        }
      }
    }
  }
  return out;
}

std::string FormatShowJson(const std::vector<ShownInterface>& interfaces) {
  std::string out = "{\n  \"interfaces\": [";
  for (size_t n = 0; n < interfaces.size(); ++n) {
    const ShownInterface& i = interfaces[n];
    out += n ? ",\n" : "\n";
    out += fmt::format(
        "    {{\n      \"name\": {},\n      \"public_key\": {},\n      \"listen_port\": {},\n"
        "      \"fwmark\": {},\n      \"peers\": [",
        JsonString(i.name), JsonOrNull(i.info.public_key), i.info.listen_port, i.info.fwmark);
    for (size_t k = 0; k < i.info.peers.size(); ++k) {
      const uapi::PeerInfo& p = i.info.peers[k];
      std::string ips;
      for (const std::string& ip : p.allowed_ips) ips += (ips.empty() ? "" : ", ") + JsonString(ip);
      out += k ? ",\n" : "\n";
      out += fmt::format(
          "        {{\n          \"public_key\": {},\n          \"preshared_key\": {},\n"
          "          \"endpoint\": {},\n          \"allowed_ips\": [{}],\n"
          "          \"latest_handshake\": {},\n          \"latest_handshake_nsec\": {},\n"
          "          \"transfer_rx\": {},\n          \"transfer_tx\": {},\n"
          "          \"persistent_keepalive\": {},\n          \"tundra\": {}\n        }}",
          JsonString(p.public_key), p.has_preshared_key ? "true" : "false", JsonOrNull(p.endpoint),
          ips, p.last_handshake_sec, p.last_handshake_nsec, p.rx_bytes, p.tx_bytes,
          p.persistent_keepalive, PeerTundraJson(p, i.info.tap.has_value()));
    }
    out += i.info.peers.empty() ? "],\n" : "\n      ],\n";
    if (i.counters) {
      const GroupedCounters g = Group(*i.counters);
      const std::string ind = "        ";
      out += fmt::format(
          "      \"tundra\": {{\n        \"transport\": {},\n        \"tcp_listen_port\": {},\n"
          "        \"dropped_total\": {},\n        \"dropped\": {},\n"
          "        \"tun_dropped_total\": {},\n        \"tun_dropped\": {},\n"
          "        \"counters\": {}{}\n      }}\n    }}",
          JsonOrNull(i.info.transport), i.info.tcp_listen_port, g.drops_total,
          JsonObject(g.drops, ind), g.tun_drops_total, JsonObject(g.tun_drops, ind),
          JsonObject(g.other, ind), TapJson(i.info.tap));
    } else {
      out += "      \"tundra\": null\n    }";
    }
  }
  out += interfaces.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

std::string FormatShowPrometheus(const std::vector<ShownInterface>& interfaces) {
  Exposition e;
  auto per_interface = [&](const std::string& name, const std::string& type,
                           const std::string& help, auto value) {
    e.Family(name, type, help);
    for (const ShownInterface& i : interfaces) e.Sample(name, IfLabel(i), value(i));
  };
  auto per_peer = [&](const std::string& name, const std::string& type, const std::string& help,
                      auto value) {
    e.Family(name, type, help);
    for (const ShownInterface& i : interfaces) {
      for (const uapi::PeerInfo& p : i.info.peers) e.Sample(name, PeerLabels(i, p), value(p));
    }
  };
  per_interface("tundra_interface_listen_port", "gauge", "UDP port the interface listens on.",
                [](const ShownInterface& i) { return uint64_t(i.info.listen_port); });
  per_interface("tundra_interface_fwmark", "gauge", "Firewall mark of the interface's packets.",
                [](const ShownInterface& i) { return uint64_t(i.info.fwmark); });
  per_interface("tundra_interface_peers", "gauge", "Peers configured on the interface.",
                [](const ShownInterface& i) { return uint64_t(i.info.peers.size()); });
  per_peer("tundra_peer_receive_bytes_total", "counter", "Bytes received from the peer.",
           [](const uapi::PeerInfo& p) { return p.rx_bytes; });
  per_peer("tundra_peer_transmit_bytes_total", "counter", "Bytes sent to the peer.",
           [](const uapi::PeerInfo& p) { return p.tx_bytes; });
  per_peer(
      "tundra_peer_latest_handshake_seconds", "gauge",
      "Unix time of the latest completed handshake with the peer (0: none yet).",
      [](const uapi::PeerInfo& p) { return uint64_t(std::max<int64_t>(0, p.last_handshake_sec)); });
  per_peer("tundra_peer_persistent_keepalive_seconds", "gauge",
           "Persistent keepalive interval (0: off).",
           [](const uapi::PeerInfo& p) { return uint64_t(p.persistent_keepalive); });
  // tundra's own counters (interfaces run by tundra only), grouped into families.
  std::vector<std::pair<const ShownInterface*, GroupedCounters>> tundra;
  for (const ShownInterface& i : interfaces) {
    if (i.counters) tundra.emplace_back(&i, Group(*i.counters));
  }
  if (tundra.empty()) return e.Take();
  // tundra's per-peer values (tundra_peers=1), for the peers of tundra daemons.
  auto tundra_peer = [&](const std::string& name, const std::string& type, const std::string& help,
                         auto value) {
    e.Family(name, type, help);
    for (const ShownInterface& i : interfaces) {
      for (const uapi::PeerInfo& p : i.info.peers) {
        if (p.tundra) e.Sample(name, PeerLabels(i, p), value(*p.tundra));
      }
    }
  };
  using Tundra = const uapi::PeerTundraInfo&;
  tundra_peer("tundra_peer_receive_packets_total", "counter",
              "Data messages received from the peer (keepalives included).",
              [](Tundra t) { return t.counters.rx_packets; });
  tundra_peer("tundra_peer_transmit_packets_total", "counter",
              "Data messages sent to the peer (keepalives included).",
              [](Tundra t) { return t.counters.tx_packets; });
  tundra_peer("tundra_peer_handshakes_total", "counter", "Sessions established with the peer.",
              [](Tundra t) { return t.counters.handshakes; });
  tundra_peer("tundra_peer_handshake_initiations_total", "counter",
              "Handshake initiations sent to the peer (retries included).",
              [](Tundra t) { return t.counters.initiations_sent; });
  tundra_peer("tundra_peer_dropped_packets_total", "counter",
              "Packets of the peer dropped (any reason).",
              [](Tundra t) { return t.counters.dropped; });
  tundra_peer("tundra_peer_shaped_in_packets_total", "counter",
              "Packets from the peer dropped over its inbound Speed (docs/shaping.md).",
              [](Tundra t) { return t.counters.shaped_in; });
  tundra_peer("tundra_peer_shaped_out_packets_total", "counter",
              "Packets to the peer dropped over its outbound Speed (docs/shaping.md).",
              [](Tundra t) { return t.counters.shaped_out; });
  tundra_peer("tundra_peer_speed_in_kbits", "gauge",
              "The peer's inbound Speed in kbit/s (0: unlimited).",
              [](Tundra t) { return uint64_t(t.shaping.speed.in_kbit); });
  tundra_peer("tundra_peer_speed_out_kbits", "gauge",
              "The peer's outbound Speed in kbit/s (0: unlimited).",
              [](Tundra t) { return uint64_t(t.shaping.speed.out_kbit); });
  tundra_peer("tundra_peer_compress_sent_before_bytes_total", "counter",
              "Bytes of packets to the peer offered to compression (docs/compression.md).",
              [](Tundra t) { return t.counters.compress_tx_before; });
  tundra_peer("tundra_peer_compress_sent_after_bytes_total", "counter",
              "The same packets' bytes as sent (compressed or as they were).",
              [](Tundra t) { return t.counters.compress_tx_after; });
  tundra_peer("tundra_peer_compress_received_before_bytes_total", "counter",
              "Bytes of compressed packets received from the peer.",
              [](Tundra t) { return t.counters.compress_rx_before; });
  tundra_peer("tundra_peer_compress_received_after_bytes_total", "counter",
              "The same packets' bytes decompressed.",
              [](Tundra t) { return t.counters.compress_rx_after; });
  tundra_peer("tundra_peer_transport_tcp", "gauge",
              "1 while the peer's endpoint is a TCP connection, 0 on UDP.",
              [](Tundra t) { return uint64_t(t.transport_in_use == "tcp"); });

  TapPrometheus(interfaces, e);

  auto by_reason = [&](const std::string& name, const std::string& help,
                       CounterList GroupedCounters::*list) {
    e.Family(name, "counter", help);
    for (const auto& [i, g] : tundra) {
      for (const auto& [reason, value] : g.*list) {
        e.Sample(name, fmt::format("{},reason=\"{}\"", IfLabel(*i), LabelValue(reason)), value);
      }
    }
  };
  by_reason("tundra_dropped_packets_total", "Packets the tunnel dropped, by reason.",
            &GroupedCounters::drops);
  by_reason("tundra_tun_dropped_packets_total", "Packets the TUN layer dropped, by reason.",
            &GroupedCounters::tun_drops);
  // The other counters, one family each, in the order of the first interface that has them.
  std::vector<std::string> names;
  for (const auto& [i, g] : tundra) {
    for (const auto& [name, value] : g.other) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  for (const std::string& name : names) {
    const std::string metric = "tundra_" + MetricName(name) + "_total";
    e.Family(metric, "counter", OtherCounterHelp(name));
    for (const auto& [i, g] : tundra) {
      for (const auto& [n, value] : g.other) {
        if (n == name) e.Sample(metric, IfLabel(*i), value);
      }
    }
  }
  return e.Take();
}

}  // namespace tundra::cli
