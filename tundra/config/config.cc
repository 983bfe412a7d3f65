#include "tundra/config/config.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <utility>

#include "tundra/base/unique_fd.h"
#include "tundra/crypto/key_text.h"
#include "tundra/l2/constants.h"
#include "tundra/proto/constants.h"

namespace tundra::config {
namespace {

// File permission bits group and others must not have on a key file (as ssh refuses keys).
constexpr mode_t kKeyFileForbiddenBits = S_IRWXG | S_IRWXO;
// A key file: 44 base64 characters and a newline or so; anything much longer is not a key.
constexpr size_t kMaxKeyFileBytes = 256;
constexpr std::string_view kSpace = " \t\r\v\f\n";

template <typename T>
bool ParseNumber(std::string_view s, T& out, int base = 10) {
  if (s.empty()) return false;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || v > std::numeric_limits<T>::max()) {
    return false;
  }
  out = static_cast<T>(v);
  return true;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Items of a list value: split at ',' and whitespace (wg-quick's ${value//,/ }).
std::vector<std::string_view> ListItems(std::string_view value) {
  std::vector<std::string_view> items;
  size_t i = 0;
  while (i < value.size()) {
    const size_t begin = value.find_first_not_of(", \t\r\v\f", i);
    if (begin == std::string_view::npos) break;
    const size_t end = value.find_first_of(", \t\r\v\f", begin);
    items.push_back(value.substr(begin, end == std::string_view::npos ? end : end - begin));
    i = end == std::string_view::npos ? value.size() : end;
  }
  return items;
}

// A value as an error shows it: quoted, unless it could be key text put in the wrong key (a
// run of base64 as long as a key), which is never shown.
std::string Shown(std::string_view value) {
  constexpr size_t kKeyTextChars = 43;  // a base64 key without its '='
  size_t run = 0, longest = 0;
  for (char c : value) {
    const bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '+' || c == '/';
    run = b64 ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  if (longest >= kKeyTextChars) return "(a value like key text, not shown)";
  return fmt::format("'{}'", value);
}

bool IsHostName(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '-' || s.front() == '.') return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool IsUserName(std::string_view s) {
  if (s.empty() || s.size() > 32 || s.front() == '-') return false;
  return s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
         std::string_view::npos;
}

std::string JoinPath(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || dir.empty()) return path;
  return dir.back() == '/' ? dir + path : dir + "/" + path;
}

class Parser {
 public:
  Parser(const IniFile& file, const ParseOptions& options) : file_(file), options_(options) {}

  Result<TunnelConfig> Run() {
    config_.name = file_.name;
    for (const IniLine& line : file_.lines) {
      if (line.kind == IniLine::Kind::kSection) {
        TUNDRA_RETURN_IF_ERROR(OpenSection(line));
      } else if (line.kind == IniLine::Kind::kKeyValue) {
        TUNDRA_RETURN_IF_ERROR(KeyLine(line));
      }
    }
    TUNDRA_RETURN_IF_ERROR(FinishPeer());
    TUNDRA_RETURN_IF_ERROR(CheckMode());
    return std::move(config_);
  }

 private:
  Error Fail(const IniLine& line, std::string_view key, std::string what) const {
    return Error(EINVAL, Where(file_, line),
                 fmt::format("{} {}: {}", SectionName(line.section), key, what));
  }

  Status OpenSection(const IniLine& line) {
    TUNDRA_RETURN_IF_ERROR(FinishPeer());
    seen_.clear();
    if (line.section == Section::kInterface) {
      if (config_.interface.line != 0) {
        return Error(EINVAL, Where(file_, line),
                     fmt::format("a second [Interface] section (the first is at line {})",
                                 config_.interface.line));
      }
      config_.interface.line = line.number;
    } else {
      PeerConfig peer;
      peer.line = line.number;
      config_.peers.push_back(std::move(peer));
      peer_lines_.emplace_back();
      has_public_key_ = false;
    }
    return OkStatus();
  }

  Status FinishPeer() {
    if (config_.peers.empty() || has_public_key_) return OkStatus();
    const PeerConfig& peer = config_.peers.back();
    return Error(EINVAL, fmt::format("{}:{}", file_.name, peer.line), "[Peer] has no PublicKey");
  }

  Status KeyLine(const IniLine& line) {
    const std::string_view name(line.key.data(), line.key.size());
    const KeySpec* spec = FindKey(line.section, name);
    if (spec == nullptr) {
      const std::string shown = IsShowableName(name) ? std::string(name) : "(key not shown)";
      if (const KeySpec* other = FindKeyAnywhere(name); other != nullptr) {
        return Fail(
            line, other->name,
            fmt::format("belongs in {}",
                        SectionName(other->in_interface ? Section::kInterface : Section::kPeer)));
      }
      return Fail(line, shown, "unknown key");
    }
    if (spec->kind == KeyKind::kUnsupported) {
      return Fail(line, spec->name,
                  fmt::format("not supported by this build of tundra ({})", spec->summary));
    }
    if (!spec->repeats) {
      auto [it, inserted] = seen_.emplace(spec->id, line.number);
      if (!inserted) {
        return Fail(line, spec->name, fmt::format("given twice (also at line {})", it->second));
      }
    }
    const std::string_view value(line.value.data(), line.value.size());
    if (value.empty() && spec->id != KeyId::kAllowedIps) return Fail(line, spec->name, "no value");
    if (line.section == Section::kInterface) return InterfaceKey(line, *spec, value);
    return PeerKey(line, *spec, value);
  }

  // Keys that depend on Mode, checked once the whole file is read (Mode may come after them):
  // the TAP-only keys need Mode = tap, AllowedIPs is refused with it. The first offending line
  // in the file is reported.
  Status CheckMode() const {
    struct Offence {
      size_t line;
      Section section;
      KeyId key;
    };
    std::optional<Offence> first;
    auto note = [&](size_t line, Section section, KeyId key) {
      if (!first || line < first->line) first = Offence{line, section, key};
    };
    const bool tap = config_.interface.tap;
    for (const auto& [key, line] : tap_key_lines_) {
      if (!tap) note(line, Section::kInterface, key);
    }
    for (const PeerLines& p : peer_lines_) {
      if (!tap && p.allowed_macs != 0) note(p.allowed_macs, Section::kPeer, KeyId::kAllowedMacs);
      if (tap && p.allowed_ips != 0) note(p.allowed_ips, Section::kPeer, KeyId::kAllowedIps);
    }
    // Mode = tap: MTU is the TAP's, and the tunnel's (MTU + kTapOverhead) must stay in bounds.
    constexpr int kMaxTapMtu = proto::kMaxMtu - int(l2::kTapOverhead);
    if (tap && config_.interface.mtu && *config_.interface.mtu > kMaxTapMtu) {
      note(mtu_line_, Section::kInterface, KeyId::kMtu);
    }
    if (!first) return OkStatus();
    std::string what = "only with Mode = tap";
    if (first->key == KeyId::kAllowedIps) {
      what =
          "has no effect with Mode = tap (AllowedMACs restricts sources; addresses and routes "
          "belong to the TAP's Address)";
    } else if (first->key == KeyId::kMtu) {
      what = fmt::format("the TAP's MTU must be {}-{} with Mode = tap", proto::kMinMtu, kMaxTapMtu);
    }
    return Error(
        EINVAL, fmt::format("{}:{}", file_.name, first->line),
        fmt::format("{} {}: {}", SectionName(first->section), SpecOf(first->key).name, what));
  }

  // A TAP-only [Interface] key: remembered for CheckMode.
  void NoteTapKey(const IniLine& line, const KeySpec& spec) {
    tap_key_lines_.emplace_back(spec.id, line.number);
  }

  // yes/no, true/false, on/off (any case).
  Result<bool> Bool(const IniLine& line, const KeySpec& spec, std::string_view value) const {
    for (const char* yes : {"yes", "true", "on"}) {
      if (EqualsNoCase(value, yes)) return true;
    }
    for (const char* no : {"no", "false", "off"}) {
      if (EqualsNoCase(value, no)) return false;
    }
    return Fail(line, spec.name, fmt::format("{} is not yes or no", Shown(value)));
  }

  Status MacTableKey(const IniLine& line, const KeySpec& spec, std::string_view value) {
    InterfaceConfig& c = config_.interface;
    NoteTapKey(line, spec);
    if (spec.id == KeyId::kMacTableSize) {
      TUNDRA_ASSIGN_OR_RETURN(c.mac_table_size,
                              Number<size_t>(line, spec, value, "a number of entries"));
    } else {
      TUNDRA_ASSIGN_OR_RETURN(c.mac_expiry, Number<uint32_t>(line, spec, value, "seconds"));
    }
    if (auto valid = l2::ValidateMacTableOptions(MacTableOptionsOf(c)); !valid.has_value()) {
      return Fail(line, spec.name, valid.error().message());
    }
    return OkStatus();
  }

  Status AllowedMacsKey(const IniLine& line, const KeySpec& spec, std::string_view value) {
    PeerConfig& p = config_.peers.back();
    if (peer_lines_.back().allowed_macs == 0) peer_lines_.back().allowed_macs = line.number;
    l2::AllowedMacs macs;
    for (const l2::MacPrefix& prefix : p.allowed_macs) {
      TUNDRA_RETURN_IF_ERROR(macs.Add(prefix));  // at most kMaxAllowedMacs already
    }
    if (value.back() == ',' || value.front() == ',' || value.find(",,") != std::string_view::npos) {
      return Fail(line, spec.name, "an empty item in the list");
    }
    if (auto added = macs.AddList(value); !added.has_value()) {
      return Fail(line, spec.name, added.error().message());
    }
    p.allowed_macs = macs.prefixes();
    return OkStatus();
  }

  Result<crypto::Secret<crypto::kKeySize>> Key(const IniLine& line, const KeySpec& spec,
                                               std::string_view value) const {
    auto key = crypto::KeyFromBase64(value);
    if (!key.ok()) return Fail(line, spec.name, fmt::format("not a key: {}", key.error().detail()));
    crypto::Secret<crypto::kKeySize> secret(*key);
    SecureZero(key->data(), key->size());
    return secret;
  }

  Result<crypto::Secret<crypto::kKeySize>> KeyFile(const IniLine& line, const KeySpec& spec,
                                                   std::string_view value) const {
    auto key = ReadKeyFile(JoinPath(options_.key_file_dir, std::string(value)));
    if (!key.ok()) return Fail(line, spec.name, key.error().message());
    return key;
  }

  // PrivateKey / PrivateKeyFile (PresharedKey / PresharedKeyFile): one of the two sets `out`;
  // a file key also records its path in `path`.
  Status KeyOrFile(const IniLine& line, const KeySpec& spec, std::string_view value, KeyId key,
                   KeyId file, std::optional<crypto::Secret<crypto::kKeySize>>& out,
                   std::string& path) {
    const KeyId other = spec.id == key ? file : key;
    if (auto it = seen_.find(other); it != seen_.end()) {
      return Fail(line, spec.name,
                  fmt::format("{} is given too (line {})", SpecOf(other).name, it->second));
    }
    if (spec.id == key) {
      TUNDRA_ASSIGN_OR_RETURN(out, Key(line, spec, value));
      return OkStatus();
    }
    TUNDRA_ASSIGN_OR_RETURN(out, KeyFile(line, spec, value));
    path = std::string(value);
    return OkStatus();
  }

  template <typename T>
  Result<T> Number(const IniLine& line, const KeySpec& spec, std::string_view value,
                   const char* want) const {
    T v{};
    if (!ParseNumber(value, v))
      return Fail(line, spec.name, fmt::format("{} is not {}", Shown(value), want));
    return v;
  }

  Result<std::vector<routing::IpPrefix>> Prefixes(const IniLine& line, const KeySpec& spec,
                                                  std::string_view value) const {
    std::vector<routing::IpPrefix> out;
    for (std::string_view item : ListItems(value)) {
      auto prefix = routing::IpPrefix::Parse(item);
      if (!prefix.ok())
        return Fail(line, spec.name, fmt::format("{} is not an IP prefix", Shown(item)));
      out.push_back(*prefix);
    }
    return out;
  }

  Status Dns(const IniLine& line, const KeySpec& spec, std::string_view value) {
    InterfaceConfig& c = config_.interface;
    for (std::string_view item : ListItems(value)) {
      // wg-quick: digits and dots, or anything with a ':', is a server; the rest search domains.
      const bool server = item.find_first_not_of("0123456789.") == std::string_view::npos ||
                          item.find(':') != std::string_view::npos;
      if (server) {
        auto address = routing::IpAddress::Parse(item);
        if (!address.ok()) {
          return Fail(line, spec.name, fmt::format("{} is not an IP address", Shown(item)));
        }
        c.dns_servers.push_back(*address);
      } else if (IsHostName(item)) {
        c.dns_search.emplace_back(item);
      } else {
        return Fail(line, spec.name, fmt::format("{} is not a domain name", Shown(item)));
      }
    }
    return OkStatus();
  }

  Status Table(const IniLine& line, const KeySpec& spec, std::string_view value) {
    TableSetting& t = config_.interface.table;
    if (value == "off") {
      t.kind = TableSetting::Kind::kOff;
    } else if (value == "auto") {
      t.kind = TableSetting::Kind::kAuto;
    } else if (ParseNumber(value, t.number)) {
      t.kind = TableSetting::Kind::kNumber;
    } else {
      return Fail(line, spec.name,
                  fmt::format("{} is not off, auto or a table number", Shown(value)));
    }
    return OkStatus();
  }

  Status TransportKey(const IniLine& line, const KeySpec& spec, std::string_view value,
                      std::optional<transport::TransportMode>& out) {
    std::string lower(value);
    for (char& ch : lower) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    transport::TransportMode m;
    if (!transport::ParseTransportMode(lower, m)) {
      return Fail(line, spec.name, fmt::format("{} is not udp, tcp or auto", Shown(value)));
    }
    out = m;
    return OkStatus();
  }

  Status SpeedKey(const IniLine& line, const KeySpec& spec, std::string_view value,
                  std::optional<device::Speed>& out) {
    device::Speed s;
    if (!device::ParseSpeed(value, s)) {
      return Fail(line, spec.name,
                  fmt::format("{} is not IN:OUT or one rate in kbit/s (0-{})", Shown(value),
                              device::kMaxSpeedKbit));
    }
    out = s;
    return OkStatus();
  }

  Status BurstKey(const IniLine& line, const KeySpec& spec, std::string_view value,
                  std::optional<uint32_t>& out) {
    uint32_t b;
    if (!device::ParseBurst(value, b)) {
      return Fail(
          line, spec.name,
          fmt::format("{} is not a size in bytes (0-{})", Shown(value), device::kMaxBurstBytes));
    }
    out = b;
    return OkStatus();
  }

  Status CompressionKey(const IniLine& line, const KeySpec& spec, std::string_view value,
                        std::optional<compress::Setting>& out) {
    std::string lower(value);
    for (char& ch : lower) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    auto setting = compress::ParseSetting(lower);
    if (!setting.ok()) {
      return Fail(line, spec.name,
                  fmt::format("{} is not lz4, zstd, zstd:LEVEL ({}-{}) or none", Shown(value),
                              compress::kMinZstdLevel, compress::kMaxZstdLevel));
    }
    out = *setting;
    return OkStatus();
  }

  Status InterfaceKey(const IniLine& line, const KeySpec& spec, std::string_view value) {
    InterfaceConfig& c = config_.interface;
    switch (spec.id) {
      case KeyId::kPrivateKey:
      case KeyId::kPrivateKeyFile: {
        return KeyOrFile(line, spec, value, KeyId::kPrivateKey, KeyId::kPrivateKeyFile,
                         c.private_key, c.private_key_file);
      }
      case KeyId::kListenPort: {
        TUNDRA_ASSIGN_OR_RETURN(c.listen_port,
                                Number<uint16_t>(line, spec, value, "a port 0-65535"));
        return OkStatus();
      }
      case KeyId::kFwMark: {
        uint32_t mark = 0;
        const bool hex = value.size() > 2 && value[0] == '0' && value[1] == 'x';
        if (EqualsNoCase(value, "off")) {
          c.fwmark = 0;
        } else if (ParseNumber(hex ? value.substr(2) : value, mark, hex ? 16 : 10)) {
          c.fwmark = mark;
        } else {
          return Fail(
              line, spec.name,
              fmt::format("{} is not off or a 32-bit number (decimal or 0x hex)", Shown(value)));
        }
        return OkStatus();
      }
      case KeyId::kAddress: {
        TUNDRA_ASSIGN_OR_RETURN(auto prefixes, Prefixes(line, spec, value));
        c.addresses.insert(c.addresses.end(), prefixes.begin(), prefixes.end());
        return OkStatus();
      }
      case KeyId::kDns:
        return Dns(line, spec, value);
      case KeyId::kMtu: {
        int mtu = 0;
        if (!ParseNumber(value, mtu) || mtu < proto::kMinMtu || mtu > proto::kMaxMtu) {
          return Fail(
              line, spec.name,
              fmt::format("{} is not an MTU {}-{}", Shown(value), proto::kMinMtu, proto::kMaxMtu));
        }
        c.mtu = mtu;
        mtu_line_ = line.number;
        return OkStatus();
      }
      case KeyId::kTable:
        return Table(line, spec, value);
      case KeyId::kPreUp:
        c.pre_up.emplace_back(value);
        return OkStatus();
      case KeyId::kPostUp:
        c.post_up.emplace_back(value);
        return OkStatus();
      case KeyId::kPreDown:
        c.pre_down.emplace_back(value);
        return OkStatus();
      case KeyId::kPostDown:
        c.post_down.emplace_back(value);
        return OkStatus();
      case KeyId::kSaveConfig:
        if (value != "true" && value != "false") {
          return Fail(line, spec.name, fmt::format("{} is neither true nor false", Shown(value)));
        }
        c.save_config = value == "true";
        return OkStatus();
      case KeyId::kUser:
        if (!IsUserName(value)) {
          return Fail(line, spec.name, fmt::format("{} is not a user name or uid", Shown(value)));
        }
        c.user = std::string(value);
        return OkStatus();
      case KeyId::kPeerUp:
        c.peer_up.emplace_back(value);
        return OkStatus();
      case KeyId::kPeerDown:
        c.peer_down.emplace_back(value);
        return OkStatus();
      case KeyId::kTransport:
        return TransportKey(line, spec, value, c.transport);
      case KeyId::kSpeed:
        return SpeedKey(line, spec, value, c.speed);
      case KeyId::kBurst:
        return BurstKey(line, spec, value, c.burst);
      case KeyId::kCompression:
        return CompressionKey(line, spec, value, c.compression);
      case KeyId::kTcpPort: {
        TUNDRA_ASSIGN_OR_RETURN(c.tcp_port, Number<uint16_t>(line, spec, value, "a port 0-65535"));
        return OkStatus();
      }
      case KeyId::kMode:
        if (EqualsNoCase(value, "tap") || EqualsNoCase(value, "tun")) {
          c.tap = EqualsNoCase(value, "tap");
          return OkStatus();
        }
        return Fail(line, spec.name, fmt::format("{} is not tun or tap", Shown(value)));
      case KeyId::kSwitchMode:
        NoteTapKey(line, spec);
        if (EqualsNoCase(value, "switch") || EqualsNoCase(value, "hub")) {
          c.switch_mode = EqualsNoCase(value, "hub") ? l2::Mode::kHub : l2::Mode::kSwitch;
          return OkStatus();
        }
        return Fail(line, spec.name, fmt::format("{} is not switch or hub", Shown(value)));
      case KeyId::kForward: {
        NoteTapKey(line, spec);
        TUNDRA_ASSIGN_OR_RETURN(c.forward, Bool(line, spec, value));
        return OkStatus();
      }
      case KeyId::kMacTableSize:
      case KeyId::kMacExpiry:
        return MacTableKey(line, spec, value);
      default:
        break;
    }
    return Fail(line, spec.name, "not handled in [Interface]");  // keys_test: unreachable
  }

  Result<EndpointSpec> Endpoint(const IniLine& line, const KeySpec& spec,
                                std::string_view value) const {
    auto bad = [&](const char* why) {
      return Fail(line, spec.name, fmt::format("{} {}", Shown(value), why));
    };
    EndpointSpec ep;
    ep.line = line.number;
    std::string_view port;
    if (value.front() == '[') {
      const size_t close = value.find(']');
      if (close == std::string_view::npos) return bad("has no ']' after the IPv6 address");
      ep.host = std::string(value.substr(1, close - 1));
      if (close + 1 >= value.size() || value[close + 1] != ':') return bad("has no :port");
      port = value.substr(close + 2);
      if (!routing::IpAddress::Parse(ep.host).ok() || ep.host.find(':') == std::string::npos) {
        return bad("does not hold an IPv6 address in its [brackets]");
      }
    } else {
      const size_t colon = value.rfind(':');
      if (colon == std::string_view::npos) return bad("has no :port");
      ep.host = std::string(value.substr(0, colon));
      if (ep.host.find(':') != std::string::npos) return bad("needs [brackets] around IPv6");
      if (!IsHostName(ep.host)) return bad("is not host:port");
      port = value.substr(colon + 1);
    }
    if (!ParseNumber(port, ep.port) || ep.port == 0) return bad("has no port 1-65535");
    if (routing::IpAddress::Parse(ep.host).ok()) {
      auto numeric = transport::Endpoint::Parse(value);
      if (!numeric.ok()) return bad("is not an endpoint");
      ep.numeric = *numeric;
    }
    return ep;
  }

  Status PeerKey(const IniLine& line, const KeySpec& spec, std::string_view value) {
    PeerConfig& p = config_.peers.back();
    switch (spec.id) {
      case KeyId::kPublicKey: {
        TUNDRA_ASSIGN_OR_RETURN(auto key, Key(line, spec, value));
        std::copy(key.span().begin(), key.span().end(), p.public_key.begin());
        for (size_t i = 0; i + 1 < config_.peers.size(); ++i) {
          if (config_.peers[i].public_key == p.public_key) {
            return Fail(line, spec.name,
                        fmt::format("the same peer as at line {}", config_.peers[i].line));
          }
        }
        has_public_key_ = true;
        return OkStatus();
      }
      case KeyId::kPresharedKey:
      case KeyId::kPresharedKeyFile: {
        return KeyOrFile(line, spec, value, KeyId::kPresharedKey, KeyId::kPresharedKeyFile,
                         p.preshared_key, p.preshared_key_file);
      }
      case KeyId::kAllowedIps: {
        // wg's parse_allowedips: an empty item is an error (a trailing comma too).
        if (!value.empty() && (value.back() == ',' || value.front() == ',' ||
                               value.find(",,") != std::string_view::npos)) {
          return Fail(line, spec.name, "an empty item in the list");
        }
        if (peer_lines_.back().allowed_ips == 0) peer_lines_.back().allowed_ips = line.number;
        TUNDRA_ASSIGN_OR_RETURN(auto prefixes, Prefixes(line, spec, value));
        p.allowed_ips.insert(p.allowed_ips.end(), prefixes.begin(), prefixes.end());
        return OkStatus();
      }
      case KeyId::kEndpoint: {
        TUNDRA_ASSIGN_OR_RETURN(p.endpoint, Endpoint(line, spec, value));
        return OkStatus();
      }
      case KeyId::kPersistentKeepalive: {
        if (EqualsNoCase(value, "off")) {
          p.persistent_keepalive = 0;
          return OkStatus();
        }
        TUNDRA_ASSIGN_OR_RETURN(p.persistent_keepalive,
                                Number<uint16_t>(line, spec, value, "off or seconds 0-65535"));
        return OkStatus();
      }
      case KeyId::kPeerUp:
        p.peer_up.emplace_back(value);
        return OkStatus();
      case KeyId::kPeerDown:
        p.peer_down.emplace_back(value);
        return OkStatus();
      case KeyId::kTransport:
        return TransportKey(line, spec, value, p.transport);
      case KeyId::kSpeed:
        return SpeedKey(line, spec, value, p.speed);
      case KeyId::kBurst:
        return BurstKey(line, spec, value, p.burst);
      case KeyId::kCompression:
        return CompressionKey(line, spec, value, p.compression);
      case KeyId::kAllowedMacs:
        return AllowedMacsKey(line, spec, value);
      default:
        break;
    }
    return Fail(line, spec.name, "not handled in [Peer]");  // keys_test: unreachable
  }

  const IniFile& file_;
  const ParseOptions& options_;
  TunnelConfig config_;
  std::map<KeyId, size_t> seen_;  // once-only keys of the current section -> their line
  bool has_public_key_ = false;
  // For CheckMode: the TAP-only [Interface] keys given, and per peer the first AllowedIPs and
  // AllowedMACs line (0: none).
  std::vector<std::pair<KeyId, size_t>> tap_key_lines_;
  size_t mtu_line_ = 0;
  struct PeerLines {
    size_t allowed_ips = 0;
    size_t allowed_macs = 0;
  };
  std::vector<PeerLines> peer_lines_;
};

}  // namespace

l2::MacTableOptions MacTableOptionsOf(const InterfaceConfig& interface) {
  l2::MacTableOptions o;
  if (interface.mac_table_size) o.capacity = *interface.mac_table_size;
  if (interface.mac_expiry) o.expiry = std::chrono::seconds(*interface.mac_expiry);
  return o;
}

Result<crypto::Secret<crypto::kKeySize>> ReadKeyFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return ErrnoError(fmt::format("open {}", path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError(fmt::format("fstat {}", path));
  if (!S_ISREG(st.st_mode)) return InvalidArgument(fmt::format("{} is not a regular file", path));
  if ((st.st_mode & kKeyFileForbiddenBits) != 0) {
    return InvalidArgument(fmt::format(
        "{} is accessible by group or others (mode {:04o}); make it private: chmod 600 {}", path,
        st.st_mode & 07777, path));
  }
  char buf[kMaxKeyFileBytes + 1];
  size_t len = 0;
  while (len < sizeof(buf)) {
    const ssize_t n = ::read(fd.get(), buf + len, sizeof(buf) - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(fmt::format("read {}", path));
    if (n == 0) break;
    len += size_t(n);
  }
  std::string_view text(buf, len);
  const size_t end = text.find_last_not_of(kSpace);
  text = end == std::string_view::npos ? std::string_view() : text.substr(0, end + 1);
  auto key = crypto::KeyFromBase64(text);
  SecureZero(buf, sizeof(buf));
  if (!key.ok()) return InvalidArgument(fmt::format("{}: {}", path, key.error().detail()));
  crypto::Secret<crypto::kKeySize> secret(*key);
  SecureZero(key->data(), key->size());
  return secret;
}

Result<TunnelConfig> ParseConfig(const IniFile& file, const ParseOptions& options) {
  return Parser(file, options).Run();
}

ParseOptions ParseOptionsFor(const std::string& path) {
  ParseOptions options;
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos) options.key_file_dir = path.substr(0, slash + 1);
  return options;
}

Result<TunnelConfig> LoadConfig(const std::string& path) {
  TUNDRA_ASSIGN_OR_RETURN(IniFile file, ReadIniFile(path));
  return ParseConfig(file, ParseOptionsFor(path));
}

Result<device::DeviceUpdate> ToDeviceUpdate(const TunnelConfig& config,
                                            const EndpointResolver& resolve) {
  device::DeviceUpdate u;
  const InterfaceConfig& c = config.interface;
  u.private_key = c.private_key;
  u.listen_port = c.listen_port;
  u.fwmark = c.fwmark;
  u.transport = c.transport;
  u.tcp_port = c.tcp_port;
  if (c.tap) {
    u.switch_mode = c.switch_mode.value_or(l2::Mode::kSwitch);
    u.forward = c.forward.value_or(false);
  }
  u.replace_peers = true;
  for (const PeerConfig& p : config.peers) {
    device::PeerUpdate peer;
    peer.public_key = p.public_key;
    peer.preshared_key = p.preshared_key;
    if (p.endpoint) {
      if (p.endpoint->numeric) {
        peer.endpoint = p.endpoint->numeric;
      } else if (resolve) {
        auto ep = resolve(*p.endpoint);
        if (!ep.ok()) {
          return ep.error().Wrap(
              fmt::format("{}:{}: [Peer] Endpoint", config.name, p.endpoint->line));
        }
        peer.endpoint = *ep;
      } else {
        return Error(
            EINVAL, fmt::format("{}:{}", config.name, p.endpoint->line),
            fmt::format("[Peer] Endpoint: host name {} needs resolving", Shown(p.endpoint->host)));
      }
    }
    peer.persistent_keepalive = p.persistent_keepalive;
    peer.transport = p.transport;
    peer.speed = p.speed ? p.speed : c.speed;
    peer.burst = p.burst ? p.burst : c.burst;
    peer.compression = p.compression ? p.compression : c.compression;
    peer.replace_allowed_ips = true;
    for (const routing::IpPrefix& prefix : p.allowed_ips) {
      peer.allowed_ips.push_back(device::AllowedIpChange{prefix, false});
    }
    if (c.tap) {
      peer.replace_allowed_macs = true;
      peer.allowed_macs = p.allowed_macs;
    }
    u.peers.push_back(std::move(peer));
  }
  return u;
}

}  // namespace tundra::config
