#include "tundra/uapi/protocol.h"

#include <fmt/core.h>

#include <charconv>

#include "tundra/base/bytes.h"

namespace tundra::uapi {
namespace {

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

template <size_t N>
bool ParseKey(std::string_view hex, std::array<uint8_t, N>& out) {
  return ParseHex(hex, out);
}

bool ParseSecret(std::string_view hex, crypto::Secret<32>& out) {
  std::array<uint8_t, 32> raw;
  if (!ParseHex(hex, raw)) return false;
  out = crypto::Secret<32>(raw);
  SecureZero(raw.data(), raw.size());
  return true;
}

}  // namespace

SetRequest ParseSet(const std::vector<std::string>& lines) {
  SetRequest req;
  device::PeerUpdate* peer = nullptr;
  auto fail = [&](int code, std::string detail) {
    req.error = code;
    req.error_detail = std::move(detail);
    return req;
  };
  for (const std::string& line : lines) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos)
      return fail(kErrnoProtocol, fmt::format("line without '=': {}", line));
    const std::string_view key(line.data(), eq);
    const std::string_view value(line.data() + eq + 1, line.size() - eq - 1);
    auto bad = [&](const char* what) {
      // Never echo key material into logs.
      const bool secret = key == "private_key" || key == "preshared_key";
      return fail(kErrnoInvalid, fmt::format("invalid {} for key {}{}{}", what, key,
                                             secret ? "" : ": ", secret ? "" : value));
    };
    if (peer == nullptr) {
      // Device section.
      if (key == "private_key") {
        crypto::PrivateKey k;
        if (!ParseSecret(value, k)) return bad("key");
        req.update.private_key = k;
      } else if (key == "listen_port") {
        uint16_t port;
        if (!ParseUint(value, port)) return bad("port");
        req.update.listen_port = port;
      } else if (key == "fwmark") {
        uint32_t mark;
        if (!ParseUint(value, mark)) return bad("fwmark");
        req.update.fwmark = mark;
      } else if (key == "replace_peers") {
        if (value != "true") return bad("value");
        req.update.replace_peers = true;
      } else if (key != "public_key") {
        return fail(kErrnoInvalid, fmt::format("invalid UAPI device key: {}", key));
      }
      if (key != "public_key") continue;
    }
    if (key == "public_key") {
      device::PeerUpdate p;
      if (!ParseKey(value, p.public_key)) return bad("key");
      req.update.peers.push_back(std::move(p));
      peer = &req.update.peers.back();
    } else if (key == "remove") {
      if (value != "true") return bad("value");
      peer->remove = true;
    } else if (key == "update_only") {
      if (value != "true") return bad("value");
      peer->update_only = true;
    } else if (key == "preshared_key") {
      crypto::SymmetricKey k;
      if (!ParseSecret(value, k)) return bad("key");
      peer->preshared_key = k;
    } else if (key == "endpoint") {
      auto ep = transport::Endpoint::Parse(value);
      if (!ep.ok()) return bad("endpoint");
      peer->endpoint = *ep;
    } else if (key == "persistent_keepalive_interval") {
      uint16_t secs;
      if (!ParseUint(value, secs)) return bad("interval");
      peer->persistent_keepalive = secs;
    } else if (key == "replace_allowed_ips") {
      if (value != "true") return bad("value");
      peer->replace_allowed_ips = true;
    } else if (key == "allowed_ip") {
      device::AllowedIpChange change;
      std::string_view text = value;
      if (!text.empty() && text[0] == '-') {
        change.remove = true;
        text.remove_prefix(1);
      }
      auto prefix = routing::IpPrefix::Parse(text);
      if (!prefix.ok()) return bad("allowed IP");
      change.prefix = *prefix;
      peer->allowed_ips.push_back(change);
    } else if (key == "protocol_version") {
      if (value != "1") return bad("protocol version");
    } else {
      return fail(kErrnoInvalid, fmt::format("invalid UAPI peer key: {}", key));
    }
  }
  return req;
}

std::string FormatGet(const device::DeviceStatus& s) {
  std::string out;
  if (s.private_key) out += fmt::format("private_key={}\n", ToHex(s.private_key->span()));
  if (s.listen_port != 0) out += fmt::format("listen_port={}\n", s.listen_port);
  if (s.fwmark != 0) out += fmt::format("fwmark={}\n", s.fwmark);
  for (const device::PeerStatus& p : s.peers) {
    out += fmt::format("public_key={}\n", ToHex(p.public_key));
    out += fmt::format("preshared_key={}\n", ToHex(p.preshared_key.span()));
    out += "protocol_version=1\n";
    if (p.endpoint) out += fmt::format("endpoint={}\n", p.endpoint->ToString());
    out += fmt::format("last_handshake_time_sec={}\n", p.last_handshake.sec);
    out += fmt::format("last_handshake_time_nsec={}\n", p.last_handshake.nsec);
    out += fmt::format("tx_bytes={}\n", p.tx_bytes);
    out += fmt::format("rx_bytes={}\n", p.rx_bytes);
    out += fmt::format("persistent_keepalive_interval={}\n", p.persistent_keepalive);
    for (const routing::IpPrefix& prefix : p.allowed_ips) {
      out += fmt::format("allowed_ip={}\n", prefix.ToString());
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
