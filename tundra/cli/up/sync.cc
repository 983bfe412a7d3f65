#include "tundra/cli/up/sync.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>

#include "tundra/crypto/key_text.h"

namespace tundra::cli::up {
namespace {

std::vector<routing::IpPrefix> SortedMasked(std::vector<routing::IpPrefix> v) {
  for (auto& p : v) p = p.Masked();
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

const device::PeerStatus* FindRunning(const device::DeviceStatus& s, const crypto::PublicKey& k) {
  for (const auto& p : s.peers) {
    if (p.public_key == k) return &p;
  }
  return nullptr;
}

const config::PeerConfig* FindConfigured(const config::TunnelConfig& c,
                                         const crypto::PublicKey& k) {
  for (const auto& p : c.peers) {
    if (p.public_key == k) return &p;
  }
  return nullptr;
}

std::vector<l2::MacPrefix> SortedMacs(std::vector<l2::MacPrefix> v) {
  auto less = [](const l2::MacPrefix& a, const l2::MacPrefix& b) {
    return a.address.value() != b.address.value() ? a.address.value() < b.address.value()
                                                  : a.length < b.length;
  };
  std::sort(v.begin(), v.end(), less);
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

Error NeedsRestart(const std::string& ifname, std::string_view key, const std::string& file,
                   const std::string& running) {
  return InvalidArgument(
      fmt::format("syncconf {}: {} = {} in the file, but the interface runs with {}: {} cannot "
                  "change on a running interface; it needs tundra down {} and tundra up {}",
                  ifname, key, file, running, key, ifname, ifname));
}

}  // namespace

Status CheckFixedSettings(const device::DeviceStatus& running, const config::TunnelConfig& file,
                          const std::string& ifname) {
  const config::InterfaceConfig& in = file.interface;
  if (in.tap != running.tap) {
    return NeedsRestart(ifname, "Mode", in.tap ? "tap" : "tun",
                        running.tap ? "Mode = tap" : "Mode = tun");
  }
  if (!in.tap) return OkStatus();
  const l2::MacTableOptions want = config::MacTableOptionsOf(in);
  if (want.capacity != running.mac_capacity) {
    return NeedsRestart(ifname, "MACTableSize", std::to_string(want.capacity),
                        fmt::format("{} entries", running.mac_capacity));
  }
  if (want.expiry != running.mac_expiry) {
    using std::chrono::seconds;
    return NeedsRestart(
        ifname, "MACExpiry",
        std::to_string(std::chrono::duration_cast<seconds>(want.expiry).count()),
        fmt::format("{} s", std::chrono::duration_cast<seconds>(running.mac_expiry).count()));
  }
  return OkStatus();
}

device::DeviceUpdate SyncUpdate(const device::DeviceStatus& running,
                                const device::DeviceUpdate& file) {
  device::DeviceUpdate out;
  if (file.private_key &&
      (!running.private_key || !running.private_key->Equals(*file.private_key))) {
    out.private_key = file.private_key;
  }
  if (file.listen_port && *file.listen_port != running.listen_port) {
    out.listen_port = file.listen_port;
  }
  if (file.fwmark && *file.fwmark != running.fwmark) out.fwmark = file.fwmark;
  // Transport: a key left out of the file is the default (udp). The TCP port only when the file
  // names one (the daemon reports the port in use, which without TcpPort is the listen port).
  const transport::TransportMode transport =
      file.transport.value_or(transport::TransportMode::kUdp);
  if (transport != running.transport) out.transport = transport;
  if (file.tcp_port && *file.tcp_port != 0 && *file.tcp_port != running.tcp_listen_port) {
    out.tcp_port = file.tcp_port;
  }
  // TAP mode (the file has them only then): SwitchMode, Forward.
  if (file.switch_mode && *file.switch_mode != running.switch_mode) {
    out.switch_mode = file.switch_mode;
  }
  if (file.forward && *file.forward != running.forward) out.forward = file.forward;
  for (const device::PeerStatus& r : running.peers) {
    const bool kept = std::any_of(file.peers.begin(), file.peers.end(),
                                  [&](const auto& p) { return p.public_key == r.public_key; });
    if (!kept) {
      device::PeerUpdate remove;
      remove.public_key = r.public_key;
      remove.remove = true;
      out.peers.push_back(remove);
    }
  }
  for (const device::PeerUpdate& want : file.peers) {
    const device::PeerStatus* have = FindRunning(running, want.public_key);
    if (have == nullptr) {
      out.peers.push_back(want);
      continue;
    }
    device::PeerUpdate p;
    p.public_key = want.public_key;
    bool changed = false;
    const crypto::SymmetricKey psk = want.preshared_key.value_or(crypto::SymmetricKey());
    if (!psk.Equals(have->preshared_key)) {
      p.preshared_key = psk;
      changed = true;
    }
    if (want.endpoint && (!have->endpoint || !(*have->endpoint == *want.endpoint))) {
      p.endpoint = want.endpoint;
      changed = true;
    }
    const uint16_t keepalive = want.persistent_keepalive.value_or(0);
    if (keepalive != have->persistent_keepalive) {
      p.persistent_keepalive = keepalive;
      changed = true;
    }
    std::vector<routing::IpPrefix> want_ips;
    for (const auto& a : want.allowed_ips) {
      if (!a.remove) want_ips.push_back(a.prefix);
    }
    if (SortedMasked(want_ips) != SortedMasked(have->allowed_ips)) {
      p.replace_allowed_ips = true;
      p.allowed_ips = want.allowed_ips;
      changed = true;
    }
    if (want.replace_allowed_macs &&
        SortedMacs(want.allowed_macs) != SortedMacs(have->allowed_macs)) {
      p.replace_allowed_macs = true;
      p.allowed_macs = want.allowed_macs;
      changed = true;
    }
    const device::Shaping shaping{want.speed.value_or(device::Speed{}), want.burst.value_or(0)};
    if (shaping != have->shaping) {
      p.speed = shaping.speed;
      p.burst = shaping.burst;
      changed = true;
    }
    const compress::Setting compression = want.compression.value_or(compress::Setting{});
    if (compression != have->compression) {
      p.compression = compression;
      changed = true;
    }
    // The peer's mode in effect: its own Transport, else the interface's.
    const transport::TransportMode mode = want.transport.value_or(transport);
    if (mode != have->transport_mode) {
      p.transport = mode;
      changed = true;
    }
    if (changed) out.peers.push_back(std::move(p));
  }
  return out;
}

bool IsEmpty(const device::DeviceUpdate& u) {
  return !u.private_key && !u.listen_port && !u.fwmark && !u.transport && !u.tcp_port &&
         !u.switch_mode && !u.forward && !u.replace_peers && u.peers.empty();
}

SecretString SavedConfig(const config::TunnelConfig& file, const device::DeviceStatus& running,
                         const std::vector<routing::IpPrefix>& addresses) {
  const config::InterfaceConfig& in = file.interface;
  SecretString out = "[Interface]\n";
  auto line = [&out](const std::string& key, const std::string& value) {
    out += key;
    out += " = ";
    out += value;
    out += "\n";
  };
  auto list = [&line](const std::string& key, const std::vector<std::string>& values) {
    for (const std::string& v : values) line(key, v);
  };
  for (const auto& a : addresses) line("Address", a.ToString());
  if (!in.private_key_file.empty()) {
    line("PrivateKeyFile", in.private_key_file);
  } else if (running.private_key) {
    SecretString key = "PrivateKey = ";
    const std::string b64 = crypto::KeyToBase64(running.private_key->span());
    key.append(b64.data(), b64.size());
    SecureZero(const_cast<char*>(b64.data()), b64.size());
    out += key;
    out += "\n";
  }
  if (running.listen_port != 0) line("ListenPort", std::to_string(running.listen_port));
  if (in.fwmark && *in.fwmark != 0) line("FwMark", fmt::format("{:#x}", *in.fwmark));
  for (const auto& d : in.dns_servers) line("DNS", d.ToString());
  for (const auto& d : in.dns_search) line("DNS", d);
  if (in.mtu) line("MTU", std::to_string(*in.mtu));
  if (in.table.kind == config::TableSetting::Kind::kOff) line("Table", "off");
  if (in.table.kind == config::TableSetting::Kind::kNumber) {
    line("Table", std::to_string(in.table.number));
  }
  list("PreUp", in.pre_up);
  list("PostUp", in.post_up);
  list("PreDown", in.pre_down);
  list("PostDown", in.post_down);
  if (in.save_config) line("SaveConfig", "true");
  if (!in.user.empty()) line("User", in.user);
  list("PeerUp", in.peer_up);
  list("PeerDown", in.peer_down);
  if (in.transport) line("Transport", transport::TransportModeName(*in.transport));
  if (in.tcp_port) line("TcpPort", std::to_string(*in.tcp_port));
  if (in.tap) {
    line("Mode", "tap");
    if (running.switch_mode != l2::Mode::kSwitch)
      line("SwitchMode", l2::ModeName(running.switch_mode));
    if (running.forward) line("Forward", "yes");
    if (in.mac_table_size) line("MACTableSize", std::to_string(*in.mac_table_size));
    if (in.mac_expiry) line("MACExpiry", std::to_string(*in.mac_expiry));
  }
  for (const device::PeerStatus& p : running.peers) {
    const config::PeerConfig* was = FindConfigured(file, p.public_key);
    out += "\n[Peer]\n";
    line("PublicKey", crypto::KeyToBase64(p.public_key));
    if (was != nullptr && !was->preshared_key_file.empty()) {
      line("PresharedKeyFile", was->preshared_key_file);
    } else if (!p.preshared_key.IsZero()) {
      SecretString key = "PresharedKey = ";
      const std::string b64 = crypto::KeyToBase64(p.preshared_key.span());
      key.append(b64.data(), b64.size());
      SecureZero(const_cast<char*>(b64.data()), b64.size());
      out += key;
      out += "\n";
    }
    if (in.tap && !p.allowed_macs.empty()) {
      std::string macs;
      for (const auto& m : p.allowed_macs) macs += (macs.empty() ? "" : ", ") + m.ToString();
      line("AllowedMACs", macs);
    }
    if (!in.tap && !p.allowed_ips.empty()) {
      std::string ips;
      for (const auto& a : p.allowed_ips) ips += (ips.empty() ? "" : ", ") + a.ToString();
      line("AllowedIPs", ips);
    }
    if (was != nullptr && was->endpoint && !was->endpoint->numeric) {
      const auto& e = *was->endpoint;
      line("Endpoint", fmt::format("{}:{}", e.host, e.port));
    } else if (p.endpoint) {
      line("Endpoint", p.endpoint->ToString());
    }
    if (p.persistent_keepalive != 0) {
      line("PersistentKeepalive", std::to_string(p.persistent_keepalive));
    }
    if (was != nullptr) {
      list("PeerUp", was->peer_up);
      list("PeerDown", was->peer_down);
      if (was->transport) line("Transport", transport::TransportModeName(*was->transport));
    }
    const device::Shaping& s = p.shaping;
    if (s.speed != device::Speed{}) line("Speed", device::SpeedText(s.speed));
    if (s.burst != 0) line("Burst", std::to_string(s.burst));
    if (p.compression.enabled()) line("Compression", compress::FormatSetting(p.compression));
  }
  return out;
}

}  // namespace tundra::cli::up
