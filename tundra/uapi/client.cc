#include "tundra/uapi/client.h"

#include <fmt/core.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <unordered_map>

#include "tundra/base/syscall.h"
#include "tundra/base/unique_fd.h"
#include "tundra/crypto/key_text.h"
#include "tundra/crypto/x25519.h"
#include "tundra/uapi/protocol.h"

namespace tundra::uapi {
namespace {

Result<UniqueFd> Connect(const std::string& path) {
  int raw = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (raw < 0) return ErrnoError("socket(AF_UNIX)");
  UniqueFd fd(raw);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (RetryOnEintr(::connect, raw, reinterpret_cast<sockaddr*>(&addr), socklen_t(sizeof(addr))) !=
      0) {
    return ErrnoError(fmt::format("connect({})", path));
  }
  return fd;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 64 hex digits into `out`; false if the text is not that.
bool DecodeHex32(std::string_view hex, std::span<uint8_t, 32> out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    const int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = uint8_t(hi << 4 | lo);
  }
  return true;
}

template <typename T>
bool ParseNumber(std::string_view text, T& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

// Calls f(line_number, key, value) for each key=value line before the blank line; stops at
// the first error f or the format returns.
template <typename F>
Status ForEachLine(std::string_view reply, F&& f) {
  size_t start = 0, number = 0;
  while (start < reply.size()) {
    size_t end = reply.find('\n', start);
    if (end == std::string_view::npos) end = reply.size();
    const std::string_view line = reply.substr(start, end - start);
    start = end + 1;
    ++number;
    if (line.empty()) break;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return MakeError(EPROTO, fmt::format("UAPI reply line {}: no '='", number));
    }
    if (Status s = f(number, line.substr(0, eq), line.substr(eq + 1)); !s.ok()) return s;
  }
  return OkStatus();
}

Status BadValue(size_t number, std::string_view key) {
  return MakeError(EPROTO, fmt::format("UAPI reply line {}: bad value for {}", number, key));
}

Status CheckErrno(size_t number, std::string_view value) {
  if (value == "0") return OkStatus();
  int code = 0;
  if (!ParseNumber(value, code)) return BadValue(number, "errno");
  return MakeError(code < 0 ? -code : code, fmt::format("the daemon answered errno={}", value));
}

// ForEachLine for a reply: f sees every line before the errno= line, which ends the reply
// (the daemon's errno, if not 0, is the error); a line after it or no errno line is an error.
template <typename F>
Status ForEachReplyLine(std::string_view reply, F&& f) {
  bool saw_errno = false;
  Status s =
      ForEachLine(reply, [&](size_t n, std::string_view key, std::string_view value) -> Status {
        if (saw_errno) return MakeError(EPROTO, fmt::format("UAPI reply line {}: after errno", n));
        if (key == "errno") {
          saw_errno = true;
          return CheckErrno(n, value);
        }
        return f(n, key, value);
      });
  if (!s.ok()) return s;
  if (!saw_errno) return MakeError(EPROTO, "UAPI reply: no errno line (cut short?)");
  return OkStatus();
}

}  // namespace

Result<SecretString> Exchange(const std::string& path, std::string_view request) {
  TUNDRA_ASSIGN_OR_RETURN(UniqueFd fd, Connect(path));
  for (size_t done = 0; done < request.size();) {
    const ssize_t n =
        RetryOnEintr(::send, fd.get(), request.data() + done, request.size() - done, MSG_NOSIGNAL);
    if (n < 0) return ErrnoError(fmt::format("send({})", path));
    done += size_t(n);
  }
  SecretString reply;
  char buf[4096];
  while (reply.size() < 2 || reply.compare(reply.size() - 2, 2, "\n\n") != 0) {
    const ssize_t n = RetryOnEintr(::read, fd.get(), buf, sizeof(buf));
    if (n < 0) return ErrnoError(fmt::format("read({})", path));
    if (n == 0) break;  // closed early: the caller's parser names what is missing
    reply.append(buf, size_t(n));
    SecureZero(buf, sizeof(buf));
    if (reply.size() > kMaxReplyBytes) {
      return MakeError(EMSGSIZE, fmt::format("{}: reply over {} bytes", path, kMaxReplyBytes));
    }
  }
  return reply;
}

Result<device::DeviceStatus> GetDevice(const std::string& path) {
  TUNDRA_ASSIGN_OR_RETURN(SecretString reply, Exchange(path, "get=1\n\n"));
  auto status = ParseGet(std::string_view(reply.data(), reply.size()));
  if (!status.ok()) return std::move(status).error().Wrap(path);
  return status;
}

Status AddTundraStatus(const std::string& path, device::DeviceStatus& status) {
  TUNDRA_ASSIGN_OR_RETURN(SecretString reply, Exchange(path, "tundra_peers=1\n\n"));
  InterfaceInfo info;
  info.peers.resize(status.peers.size());
  for (size_t i = 0; i < status.peers.size(); ++i) {
    info.peers[i].public_key = crypto::KeyToBase64(status.peers[i].public_key);
  }
  Status s = ParsePeersReply(std::string_view(reply.data(), reply.size()), info);
  if (!s.ok()) return std::move(s).error().Wrap(path);
  if (!info.transport.empty() && !transport::ParseTransportMode(info.transport, status.transport)) {
    return MakeError(EPROTO,
                     fmt::format("{}: transport={}: not udp, tcp or auto", path, info.transport));
  }
  if (!info.transport.empty()) status.tcp_listen_port = info.tcp_listen_port;
  if (info.tap) {
    status.tap = true;
    status.switch_mode = info.tap->switch_mode;
    status.forward = info.tap->forward;
    status.mac_capacity = info.tap->mac_capacity;
    status.mac_expiry = std::chrono::seconds(info.tap->mac_expiry_sec);
    status.mac_stats = info.tap->mac_stats;
  }
  for (size_t i = 0; i < status.peers.size(); ++i) {
    if (!info.peers[i].tundra) continue;
    const PeerTundraInfo& t = *info.peers[i].tundra;
    status.peers[i].allowed_macs.clear();
    for (const std::string& text : t.allowed_macs) {
      auto mac = l2::ParseMacPrefix(text);
      if (!mac.has_value()) {
        return MakeError(EPROTO, fmt::format("{}: peer allowed_mac={}: not MAC[/LEN]", path, text));
      }
      status.peers[i].allowed_macs.push_back(*mac);
    }
    status.peers[i].mac_entries = t.mac_entries;
    status.peers[i].l2_drops = t.l2_drops;
    status.peers[i].shaping = t.shaping;
    status.peers[i].compression = t.compression;
    status.peers[i].compression_active = t.compression_active;
    if (!t.transport.empty() &&
        !transport::ParseTransportMode(t.transport, status.peers[i].transport_mode)) {
      return MakeError(
          EPROTO, fmt::format("{}: peer transport={}: not udp, tcp or auto", path, t.transport));
    }
  }
  return OkStatus();
}

Status SetDevice(const std::string& path, const device::DeviceUpdate& update) {
  const SecretString request = FormatSet(update);
  TUNDRA_ASSIGN_OR_RETURN(SecretString reply,
                          Exchange(path, std::string_view(request.data(), request.size())));
  const std::string_view r(reply.data(), reply.size());
  if (r == "errno=0\n\n") return OkStatus();
  const std::string_view value = r.substr(0, r.find('\n'));
  return MakeError(EPROTO, fmt::format("{}: set=1 answered {}", path, value.substr(0, 20)));
}

Result<pid_t> ServerPid(const std::string& path) {
  TUNDRA_ASSIGN_OR_RETURN(UniqueFd fd, Connect(path));
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return ErrnoError(fmt::format("getsockopt(SO_PEERCRED) {}", path));
  }
  return cred.pid;
}

Result<InterfaceInfo> ParseGetReply(std::string_view reply) {
  InterfaceInfo info;
  PeerInfo* peer = nullptr;
  Status s = ForEachReplyLine(
      reply, [&](size_t n, std::string_view key, std::string_view value) -> Status {
        if (key == "private_key") {
          crypto::PrivateKey priv;
          if (!DecodeHex32(value, priv.span())) return BadValue(n, key);
          if (!priv.IsZero())
            info.public_key = crypto::KeyToBase64(crypto::PublicFromPrivate(priv));
          return OkStatus();
        }
        if (key == "public_key") {
          crypto::PublicKey pub;
          if (!DecodeHex32(value, pub)) return BadValue(n, key);
          info.peers.emplace_back();
          peer = &info.peers.back();
          peer->public_key = crypto::KeyToBase64(pub);
          return OkStatus();
        }
        if (peer == nullptr) {
          if (key == "listen_port") {
            return ParseNumber(value, info.listen_port) ? OkStatus() : BadValue(n, key);
          }
          if (key == "fwmark")
            return ParseNumber(value, info.fwmark) ? OkStatus() : BadValue(n, key);
          return MakeError(EPROTO, fmt::format("UAPI reply line {}: unknown key {}", n, key));
        }
        if (key == "preshared_key") {
          crypto::SymmetricKey psk;
          if (!DecodeHex32(value, psk.span())) return BadValue(n, key);
          peer->has_preshared_key = !psk.IsZero();
          return OkStatus();
        }
        if (key == "protocol_version") return value == "1" ? OkStatus() : BadValue(n, key);
        if (key == "endpoint") {
          peer->endpoint = std::string(value);
          return OkStatus();
        }
        if (key == "allowed_ip") {
          peer->allowed_ips.emplace_back(value);
          return OkStatus();
        }
        bool ok = false;
        if (key == "last_handshake_time_sec") {
          ok = ParseNumber(value, peer->last_handshake_sec);
        } else if (key == "last_handshake_time_nsec") {
          ok = ParseNumber(value, peer->last_handshake_nsec);
        } else if (key == "rx_bytes") {
          ok = ParseNumber(value, peer->rx_bytes);
        } else if (key == "tx_bytes") {
          ok = ParseNumber(value, peer->tx_bytes);
        } else if (key == "persistent_keepalive_interval") {
          ok = ParseNumber(value, peer->persistent_keepalive);
        } else {
          return MakeError(EPROTO, fmt::format("UAPI reply line {}: unknown key {}", n, key));
        }
        return ok ? OkStatus() : BadValue(n, key);
      });
  if (!s.ok()) return s.error();
  return info;
}

namespace {

constexpr std::string_view kL2DropPrefix = "l2_drop_";

// A TAP-mode line of the interface part of a tundra_peers=1 reply (mode=tap starts them).
Status TapLine(size_t n, std::string_view key, std::string_view value,
               std::optional<TapInfo>& tap) {
  if (key == "mode") {
    if (value == "tap") {
      tap.emplace();
    } else if (value != "tun") {
      return BadValue(n, key);
    }
    return OkStatus();
  }
  TapInfo& t = *tap;
  if (key == "switch") {
    if (value != "switch" && value != "hub") return BadValue(n, key);
    t.switch_mode = value == "hub" ? l2::Mode::kHub : l2::Mode::kSwitch;
    return OkStatus();
  }
  if (key == "forward") {
    if (value != "yes" && value != "no") return BadValue(n, key);
    t.forward = value == "yes";
    return OkStatus();
  }
  if (key == "mac_table") {
    const size_t slash = value.find('/');
    if (slash == std::string_view::npos || !ParseNumber(value.substr(0, slash), t.mac_stats.size) ||
        !ParseNumber(value.substr(slash + 1), t.mac_capacity)) {
      return BadValue(n, key);
    }
    return OkStatus();
  }
  l2::MacTableStats& m = t.mac_stats;
  uint64_t* counter = key == "mac_expiry"           ? &t.mac_expiry_sec
                      : key == "mac_learned"        ? &m.learned
                      : key == "mac_moved"          ? &m.moved
                      : key == "mac_evicted"        ? &m.evicted
                      : key == "mac_evicted_chain"  ? &m.evicted_chain
                      : key == "mac_expired"        ? &m.expired
                      : key == "mac_removed"        ? &m.removed
                      : key == "mac_learn_deferred" ? &m.deferred
                                                    : nullptr;
  if (counter != nullptr) return ParseNumber(value, *counter) ? OkStatus() : BadValue(n, key);
  return OkStatus();  // a key this build does not know
}

}  // namespace

Status ParsePeersReply(std::string_view reply, InterfaceInfo& info) {
  if (reply.empty()) return OkStatus();
  std::unordered_map<std::string_view, PeerInfo*> by_key;  // one lookup per peer line
  by_key.reserve(info.peers.size());
  for (PeerInfo& p : info.peers) by_key.emplace(p.public_key, &p);
  bool in_peers = false;
  PeerTundraInfo* peer = nullptr;  // null in the interface part and for an unknown peer
  return ForEachReplyLine(
      reply, [&](size_t n, std::string_view key, std::string_view value) -> Status {
        if (key == "public_key") {
          crypto::PublicKey pub;
          if (!DecodeHex32(value, pub)) return BadValue(n, key);
          const std::string b64 = crypto::KeyToBase64(pub);
          in_peers = true;
          auto it = by_key.find(b64);
          peer = it == by_key.end() ? nullptr : &it->second->tundra.emplace();
          return OkStatus();
        }
        if (!in_peers) {
          if (key == "transport") {
            info.transport = std::string(value);
          } else if (key == "tcp_listen_port") {
            if (!ParseNumber(value, info.tcp_listen_port)) return BadValue(n, key);
          } else if (key == "mode" || info.tap) {
            return TapLine(n, key, value, info.tap);
          }
          return OkStatus();
        }
        if (peer == nullptr) return OkStatus();
        if (key == "allowed_mac") {
          peer->allowed_macs.emplace_back(value);
          return OkStatus();
        }
        if (key == "mac_entries") {
          return ParseNumber(value, peer->mac_entries) ? OkStatus() : BadValue(n, key);
        }
        if (key.starts_with(kL2DropPrefix)) {
          for (size_t r = 1; r < l2::kDropReasonCount; ++r) {
            if (key.substr(kL2DropPrefix.size()) == l2::DropReasonName(l2::DropReason(r))) {
              return ParseNumber(value, peer->l2_drops[r]) ? OkStatus() : BadValue(n, key);
            }
          }
          return OkStatus();  // a reason this build does not know
        }
        uint64_t* counter = key == "rx_packets"              ? &peer->counters.rx_packets
                            : key == "tx_packets"            ? &peer->counters.tx_packets
                            : key == "handshakes"            ? &peer->counters.handshakes
                            : key == "handshake_initiations" ? &peer->counters.initiations_sent
                            : key == "dropped"               ? &peer->counters.dropped
                            : key == "shaped_in"             ? &peer->counters.shaped_in
                            : key == "shaped_out"            ? &peer->counters.shaped_out
                            : key == "compress_tx_packets"   ? &peer->counters.compress_tx_packets
                            : key == "compress_tx_compressed"
                                ? &peer->counters.compress_tx_compressed
                            : key == "compress_tx_before"  ? &peer->counters.compress_tx_before
                            : key == "compress_tx_after"   ? &peer->counters.compress_tx_after
                            : key == "compress_rx_packets" ? &peer->counters.compress_rx_packets
                            : key == "compress_rx_before"  ? &peer->counters.compress_rx_before
                            : key == "compress_rx_after"   ? &peer->counters.compress_rx_after
                                                           : nullptr;
        if (counter != nullptr) return ParseNumber(value, *counter) ? OkStatus() : BadValue(n, key);
        if (key == "transport") peer->transport = std::string(value);
        if (key == "transport_in_use") peer->transport_in_use = std::string(value);
        if (key == "transport_since_sec") {
          uint64_t sec = 0;
          if (!ParseNumber(value, sec)) return BadValue(n, key);
          peer->transport_since_sec = int64_t(sec);
        }
        if (key == "speed" && !device::ParseSpeed(value, peer->shaping.speed)) {
          return BadValue(n, key);
        }
        if (key == "burst" && !device::ParseBurst(value, peer->shaping.burst)) {
          return BadValue(n, key);
        }
        if (key == "compression_active") peer->compression_active = value == "1";
        if (key == "compression") {
          auto setting = compress::ParseSetting(value);
          if (!setting.ok()) return BadValue(n, key);
          peer->compression = *setting;
        }
        return OkStatus();
      });
}

Result<std::optional<std::vector<std::pair<std::string, uint64_t>>>> ParseStatsReply(
    std::string_view reply) {
  if (reply.empty()) return std::optional<std::vector<std::pair<std::string, uint64_t>>>();
  std::vector<std::pair<std::string, uint64_t>> counters;
  Status s = ForEachReplyLine(
      reply, [&](size_t n, std::string_view key, std::string_view value) -> Status {
        uint64_t v = 0;
        if (!ParseNumber(value, v)) return BadValue(n, key);
        counters.emplace_back(std::string(key), v);
        return OkStatus();
      });
  if (!s.ok()) return s.error();
  return std::optional(std::move(counters));
}

}  // namespace tundra::uapi
