#include "tundra/uapi/protocol.h"

#include <fmt/core.h>

#include <charconv>
#include <iterator>

namespace tundra::uapi {
namespace {

constexpr char kHexKey[] = "64 hex digits";

template <typename T>
bool ParseUint(std::string_view s, T& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || p != s.data() + s.size() || v > std::numeric_limits<T>::max()) {
    return false;
  }
  out = static_cast<T>(v);
  return true;
}

bool ParseSecret(std::string_view hex, crypto::Secret<32>& out) {
  std::array<uint8_t, 32> raw;
  const bool ok = ParseHex(hex, raw);
  if (ok) out = crypto::Secret<32>(raw);
  SecureZero(raw.data(), raw.size());
  return ok;
}

// "key=HEX\n" straight into `out`, so the hex has no other copy.
void AppendHexLine(SecretString& out, std::string_view key, ByteSpan data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out.append(key).push_back('=');
  for (uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  out.push_back('\n');
}

}  // namespace

void SetParser::Fail(int code, std::string detail) {
  req_.error = code;
  req_.error_detail = fmt::format("line {}: {}", line_number_, detail);
}

void SetParser::BadValue(std::string_view key, std::string_view want) {
  Fail(kErrnoInvalid, fmt::format("invalid value for {} (want {})", key, want));
}

void SetParser::Flag(std::string_view key, std::string_view value, bool& out) {
  if (value == "true") {
    out = true;
  } else {
    BadValue(key, "'true'");
  }
}

template <typename T>
void SetParser::Number(std::string_view key, std::string_view value, const char* want,
                       std::optional<T>& out) {
  T v;
  if (ParseUint(value, v)) {
    out = v;
  } else {
    BadValue(key, want);
  }
}

void SetParser::Line(std::string_view line) {
  ++line_number_;
  if (req_.error != 0) return;
  const size_t eq = line.find('=');
  if (eq == std::string_view::npos) return Fail(kErrnoProtocol, "no '=' in the line");
  const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
  if (!in_peer_ && key != "public_key") return DeviceLine(key, value);
  PeerLine(key, value);
}

void SetParser::DeviceLine(std::string_view key, std::string_view value) {
  device::DeviceUpdate& u = req_.update;
  if (key == "private_key") {
    crypto::PrivateKey k;
    if (!ParseSecret(value, k)) return BadValue(key, kHexKey);
    u.private_key = k;
  } else if (key == "listen_port") {
    Number(key, value, "a port 0-65535", u.listen_port);
  } else if (key == "fwmark") {
    Number(key, value, "a 32-bit number", u.fwmark);
  } else if (key == "replace_peers") {
    Flag(key, value, u.replace_peers);
  } else if (key == "tundra_transport") {  // tundra extension (docs/tcp-transport.md)
    transport::TransportMode m;
    if (!transport::ParseTransportMode(value, m)) return BadValue(key, "udp, tcp or auto");
    u.transport = m;
  } else if (key == "tundra_tcp_port") {
    Number(key, value, "a port 0-65535", u.tcp_port);
  } else if (key == "tundra_switch") {  // tundra extension: TAP mode (docs/l2.md)
    if (value != "switch" && value != "hub") return BadValue(key, "switch or hub");
    u.switch_mode = value == "hub" ? l2::Mode::kHub : l2::Mode::kSwitch;
  } else if (key == "tundra_forward") {
    if (value != "true" && value != "false") return BadValue(key, "true or false");
    u.forward = value == "true";
  } else {
    Fail(kErrnoInvalid, fmt::format("invalid UAPI device key {}", LoggableKey(key)));
  }
}

void SetParser::PeerLine(std::string_view key, std::string_view value) {
  if (key == "public_key") {
    device::PeerUpdate p;
    if (!ParseHex(value, p.public_key)) return BadValue(key, kHexKey);
    req_.update.peers.push_back(std::move(p));
    in_peer_ = true;
    return;
  }
  device::PeerUpdate& peer = req_.update.peers.back();
  if (key == "remove") {
    Flag(key, value, peer.remove);
  } else if (key == "update_only") {
    Flag(key, value, peer.update_only);
  } else if (key == "preshared_key") {
    crypto::SymmetricKey k;
    if (!ParseSecret(value, k)) return BadValue(key, kHexKey);
    peer.preshared_key = k;
  } else if (key == "endpoint") {
    auto ep = transport::Endpoint::Parse(value);
    if (!ep.ok()) return BadValue(key, "IPv4:port or [IPv6]:port");
    peer.endpoint = *ep;
  } else if (key == "persistent_keepalive_interval") {
    Number(key, value, "seconds 0-65535", peer.persistent_keepalive);
  } else if (key == "replace_allowed_ips") {
    Flag(key, value, peer.replace_allowed_ips);
  } else if (key == "allowed_ip") {
    device::AllowedIpChange change;
    change.remove = !value.empty() && value[0] == '-';
    auto prefix = routing::IpPrefix::Parse(value.substr(change.remove ? 1 : 0));
    if (!prefix.ok()) return BadValue(key, "[-]address/length");
    change.prefix = *prefix;
    peer.allowed_ips.push_back(change);
  } else if (key == "tundra_transport") {  // tundra extension (docs/tcp-transport.md)
    transport::TransportMode m;
    if (!transport::ParseTransportMode(value, m)) return BadValue(key, "udp, tcp or auto");
    peer.transport = m;
  } else if (key == "tundra_speed") {  // tundra extension (docs/shaping.md)
    device::Speed s;
    if (!device::ParseSpeed(value, s)) return BadValue(key, "IN:OUT kbit/s");
    peer.speed = s;
  } else if (key == "tundra_burst") {
    uint32_t b;
    if (!device::ParseBurst(value, b)) {
      return BadValue(key, fmt::format("bytes 0-{}", device::kMaxBurstBytes));
    }
    peer.burst = b;
  } else if (key == "tundra_compression") {  // tundra extension (docs/compression.md)
    auto setting = compress::ParseSetting(value);
    if (!setting.ok()) {
      return BadValue(key, fmt::format("lz4, zstd, zstd:LEVEL ({}-{}) or none",
                                       compress::kMinZstdLevel, compress::kMaxZstdLevel));
    }
    peer.compression = *setting;
  } else if (key == "tundra_replace_allowed_macs") {  // tundra extension: TAP mode (docs/l2.md)
    Flag(key, value, peer.replace_allowed_macs);
  } else if (key == "tundra_allowed_mac") {
    auto prefix = l2::ParseMacPrefix(value);
    if (!prefix.has_value()) return BadValue(key, "MAC or MAC/LENGTH");
    peer.allowed_macs.push_back(*prefix);
  } else if (key == "protocol_version") {
    if (value != "1") return BadValue(key, "1");
  } else {
    Fail(kErrnoInvalid, fmt::format("invalid UAPI peer key {}", LoggableKey(key)));
  }
}

SetRequest ParseSet(const std::vector<std::string>& lines) {
  SetParser parser;
  for (const std::string& line : lines) parser.Line(line);
  return std::move(parser.request());
}

std::string_view LoggableKey(std::string_view line) {
  const std::string_view key = line.substr(0, line.find('='));
  const bool name = !key.empty() && key.size() <= 32 &&
                    key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos;
  return name ? key : "(not shown)";
}

SecretString FormatGet(const device::DeviceStatus& s) {
  SecretString out;
  // fmt::format, not format_to into `out`: the latter does not link with clang's mangling of
  // libfmt (the fuzz build); these lines carry no secret.
  auto line = [&out](const std::string& text) { out += text; };
  if (s.private_key) AppendHexLine(out, "private_key", s.private_key->span());
  if (s.listen_port != 0) line(fmt::format("listen_port={}\n", s.listen_port));
  if (s.fwmark != 0) line(fmt::format("fwmark={}\n", s.fwmark));
  for (const device::PeerStatus& p : s.peers) {
    AppendHexLine(out, "public_key", p.public_key);
    AppendHexLine(out, "preshared_key", p.preshared_key.span());
    out += "protocol_version=1\n";
    if (p.endpoint) line(fmt::format("endpoint={}\n", p.endpoint->ToString()));
    line(fmt::format("last_handshake_time_sec={}\n", p.last_handshake.sec));
    line(fmt::format("last_handshake_time_nsec={}\n", p.last_handshake.nsec));
    line(fmt::format("tx_bytes={}\n", p.tx_bytes));
    line(fmt::format("rx_bytes={}\n", p.rx_bytes));
    line(fmt::format("persistent_keepalive_interval={}\n", p.persistent_keepalive));
    for (const routing::IpPrefix& prefix : p.allowed_ips) {
      line(fmt::format("allowed_ip={}\n", prefix.ToString()));
    }
  }
  out += "errno=0\n\n";
  return out;
}

SecretString FormatSet(const device::DeviceUpdate& u) {
  SecretString out = "set=1\n";
  auto line = [&out](const std::string& text) { out += text; };
  if (u.private_key) AppendHexLine(out, "private_key", u.private_key->span());
  if (u.listen_port) line(fmt::format("listen_port={}\n", *u.listen_port));
  if (u.fwmark) line(fmt::format("fwmark={}\n", *u.fwmark));
  // tundra's extensions (docs/tcp-transport.md) only when set: a plain update stays wg's bytes.
  if (u.transport)
    line(fmt::format("tundra_transport={}\n", transport::TransportModeName(*u.transport)));
  if (u.tcp_port) line(fmt::format("tundra_tcp_port={}\n", *u.tcp_port));
  if (u.switch_mode) line(fmt::format("tundra_switch={}\n", l2::ModeName(*u.switch_mode)));
  if (u.forward) line(fmt::format("tundra_forward={}\n", *u.forward ? "true" : "false"));
  if (u.replace_peers) out += "replace_peers=true\n";
  for (const device::PeerUpdate& p : u.peers) {
    AppendHexLine(out, "public_key", p.public_key);
    if (p.remove) {
      out += "remove=true\n";
      continue;
    }
    if (p.update_only) out += "update_only=true\n";
    if (p.preshared_key) AppendHexLine(out, "preshared_key", p.preshared_key->span());
    if (p.endpoint) line(fmt::format("endpoint={}\n", p.endpoint->ToString()));
    if (p.persistent_keepalive) {
      line(fmt::format("persistent_keepalive_interval={}\n", *p.persistent_keepalive));
    }
    if (p.transport)
      line(fmt::format("tundra_transport={}\n", transport::TransportModeName(*p.transport)));
    if (p.speed) line(fmt::format("tundra_speed={}\n", device::SpeedText(*p.speed)));
    if (p.burst) line(fmt::format("tundra_burst={}\n", *p.burst));
    if (p.compression) {
      line(fmt::format("tundra_compression={}\n", compress::FormatSetting(*p.compression)));
    }
    if (p.replace_allowed_ips) out += "replace_allowed_ips=true\n";
    for (const device::AllowedIpChange& a : p.allowed_ips) {
      line(fmt::format("allowed_ip={}{}\n", a.remove ? "-" : "", a.prefix.ToString()));
    }
    if (p.replace_allowed_macs) out += "tundra_replace_allowed_macs=true\n";
    for (const l2::MacPrefix& m : p.allowed_macs) {
      line(fmt::format("tundra_allowed_mac={}\n", m.ToString()));
    }
  }
  out += "\n";
  return out;
}

Result<device::DeviceStatus> ParseGet(std::string_view reply) {
  device::DeviceStatus s;
  size_t line_number = 0;
  bool ended = false;
  auto bad = [&](std::string_view key) {
    return MakeError(EPROTO, fmt::format("UAPI get reply line {}: bad value for {}", line_number,
                                         LoggableKey(key)));
  };
  while (!reply.empty()) {
    const size_t nl = reply.find('\n');
    if (nl == std::string_view::npos) break;
    const std::string_view line = reply.substr(0, nl);
    reply.remove_prefix(nl + 1);
    ++line_number;
    if (line.empty()) {
      ended = true;
      break;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return MakeError(EPROTO, fmt::format("UAPI get reply line {}: no '='", line_number));
    }
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    device::PeerStatus* peer = s.peers.empty() ? nullptr : &s.peers.back();
    if (key == "errno") {
      if (value != "0") {
        return MakeError(
            EPROTO, fmt::format("UAPI get: the daemon answered errno={}", value.substr(0, 12)));
      }
    } else if (key == "public_key") {
      device::PeerStatus p;
      if (!ParseHex(value, p.public_key)) return bad(key);
      s.peers.push_back(std::move(p));
    } else if (peer == nullptr) {
      if (key == "private_key") {
        crypto::PrivateKey k;
        if (!ParseSecret(value, k)) return bad(key);
        s.private_key = k;
      } else if (key == "listen_port") {
        if (!ParseUint(value, s.listen_port)) return bad(key);
      } else if (key == "fwmark") {
        if (!ParseUint(value, s.fwmark)) return bad(key);
      }
    } else if (key == "preshared_key") {
      if (!ParseSecret(value, peer->preshared_key)) return bad(key);
    } else if (key == "endpoint") {
      auto ep = transport::Endpoint::Parse(value);
      if (!ep.ok()) return bad(key);
      peer->endpoint = *ep;
    } else if (key == "last_handshake_time_sec") {
      if (!ParseUint(value, peer->last_handshake.sec)) return bad(key);
    } else if (key == "last_handshake_time_nsec") {
      if (!ParseUint(value, peer->last_handshake.nsec)) return bad(key);
    } else if (key == "tx_bytes") {
      if (!ParseUint(value, peer->tx_bytes)) return bad(key);
    } else if (key == "rx_bytes") {
      if (!ParseUint(value, peer->rx_bytes)) return bad(key);
    } else if (key == "persistent_keepalive_interval") {
      if (!ParseUint(value, peer->persistent_keepalive)) return bad(key);
    } else if (key == "allowed_ip") {
      auto prefix = routing::IpPrefix::Parse(value);
      if (!prefix.ok()) return bad(key);
      peer->allowed_ips.push_back(*prefix);
    }
  }
  if (!ended) return MakeError(EPROTO, "UAPI get reply: no blank line at the end");
  return s;
}

std::string FormatPeers(const device::DeviceStatus& s) {
  std::string out = fmt::format("transport={}\ntcp_listen_port={}\n",
                                transport::TransportModeName(s.transport), s.tcp_listen_port);
  if (s.tap) {  // TAP mode (docs/l2.md); a TUN-mode listing has none of these lines
    const l2::MacTableStats& m = s.mac_stats;
    out += fmt::format(
        "mode=tap\nswitch={}\nforward={}\nmac_table={}/{}\nmac_expiry={}\nmac_learned={}\n"
        "mac_moved={}\nmac_evicted={}\nmac_evicted_chain={}\nmac_expired={}\nmac_removed={}\n"
        "mac_learn_deferred={}\n",
        l2::ModeName(s.switch_mode), s.forward ? "yes" : "no", m.size, s.mac_capacity,
        std::chrono::duration_cast<std::chrono::seconds>(s.mac_expiry).count(), m.learned, m.moved,
        m.evicted, m.evicted_chain, m.expired, m.removed, m.deferred);
  }
  for (const device::PeerStatus& p : s.peers) {
    out += "public_key=";
    static constexpr char kDigits[] = "0123456789abcdef";
    for (uint8_t b : p.public_key) {
      out.push_back(kDigits[b >> 4]);
      out.push_back(kDigits[b & 15]);
    }
    out += fmt::format(
        "\ntransport={}\ntransport_in_use={}\ntransport_since_sec={}\ntransport_since_nsec={}\n",
        transport::TransportModeName(p.transport_mode),
        p.transport_in_use == transport::Transport::kTcp ? "tcp" : "udp", p.transport_since.sec,
        p.transport_since.nsec);
    const device::PeerCounterValues& c = p.counters;
    out += fmt::format(
        "rx_packets={}\ntx_packets={}\nhandshakes={}\nhandshake_initiations={}\ndropped={}\n",
        c.rx_packets, c.tx_packets, c.handshakes, c.initiations_sent, c.dropped);
    out +=
        fmt::format("speed={}\nburst={}\nshaped_in={}\nshaped_out={}\n",
                    device::SpeedText(p.shaping.speed), p.shaping.burst, c.shaped_in, c.shaped_out);
    out += fmt::format(
        "compression={}\ncompression_active={}\ncompress_tx_packets={}\ncompress_tx_compressed={}\n"
        "compress_tx_before={}\ncompress_tx_after={}\ncompress_rx_packets={}\n"
        "compress_rx_before={}\ncompress_rx_after={}\n",
        compress::FormatSetting(p.compression), int(p.compression_active), c.compress_tx_packets,
        c.compress_tx_compressed, c.compress_tx_before, c.compress_tx_after, c.compress_rx_packets,
        c.compress_rx_before, c.compress_rx_after);
    if (s.tap) {
      for (const l2::MacPrefix& mac : p.allowed_macs) {
        out += fmt::format("allowed_mac={}\n", mac.ToString());
      }
      out += fmt::format("mac_entries={}\n", p.mac_entries);
      for (size_t r = 1; r < l2::kDropReasonCount; ++r) {
        out += fmt::format("l2_drop_{}={}\n", l2::DropReasonName(l2::DropReason(r)), p.l2_drops[r]);
      }
    }
  }
  out += "errno=0\n\n";
  return out;
}

std::string FormatStats(const std::vector<std::pair<std::string, uint64_t>>& counters) {
  std::string out;
  for (const auto& [name, value] : counters) out += fmt::format("{}={}\n", name, value);
  out += "errno=0\n\n";
  return out;
}

int ErrnoForApplyError(const Error& error) {
  switch (error.code()) {
    case EADDRINUSE:
      return kErrnoAddrInUse;
    case EINVAL:
      return kErrnoInvalid;
    case EIO:
      return kErrnoIo;
    default:
      return kErrnoNoAno;
  }
}

}  // namespace tundra::uapi
