#include "tundra/config/keys.h"

#include <strings.h>

namespace tundra::config {
namespace {

constexpr bool kIf = true, kNoIf = false, kPeer = true, kNoPeer = false;
constexpr bool kList = true, kOnce = false;

constexpr KeySpec kKeys[] = {
    {KeyId::kPrivateKey, "PrivateKey", kIf, kNoPeer, KeyKind::kWg, kOnce,
     "the interface's private key (base64)"},
    {KeyId::kListenPort, "ListenPort", kIf, kNoPeer, KeyKind::kWg, kOnce, "UDP port, 0-65535"},
    {KeyId::kFwMark, "FwMark", kIf, kNoPeer, KeyKind::kWg, kOnce,
     "mark of outgoing packets: off, decimal or 0x hex"},
    {KeyId::kPublicKey, "PublicKey", kNoIf, kPeer, KeyKind::kWg, kOnce,
     "the peer's public key (base64)"},
    {KeyId::kPresharedKey, "PresharedKey", kNoIf, kPeer, KeyKind::kWg, kOnce,
     "a preshared key (base64)"},
    {KeyId::kAllowedIps, "AllowedIPs", kNoIf, kPeer, KeyKind::kWg, kList,
     "prefixes routed to and accepted from the peer"},
    {KeyId::kEndpoint, "Endpoint", kNoIf, kPeer, KeyKind::kWg, kOnce,
     "host:port, [IPv6]:port; a host name is resolved"},
    {KeyId::kPersistentKeepalive, "PersistentKeepalive", kNoIf, kPeer, KeyKind::kWg, kOnce,
     "seconds 1-65535, or off (0)"},
    {KeyId::kAddress, "Address", kIf, kNoPeer, KeyKind::kWgQuick, kList,
     "addresses (with /length) of the interface"},
    {KeyId::kDns, "DNS", kIf, kNoPeer, KeyKind::kWgQuick, kList,
     "DNS servers (IP addresses) and search domains"},
    {KeyId::kMtu, "MTU", kIf, kNoPeer, KeyKind::kWgQuick, kOnce, "interface MTU (576-65535)"},
    {KeyId::kTable, "Table", kIf, kNoPeer, KeyKind::kWgQuick, kOnce,
     "routing table for AllowedIPs routes: off, auto or a number"},
    {KeyId::kPreUp, "PreUp", kIf, kNoPeer, KeyKind::kWgQuick, kList, "command run before up"},
    {KeyId::kPostUp, "PostUp", kIf, kNoPeer, KeyKind::kWgQuick, kList, "command run after up"},
    {KeyId::kPreDown, "PreDown", kIf, kNoPeer, KeyKind::kWgQuick, kList, "command run before down"},
    {KeyId::kPostDown, "PostDown", kIf, kNoPeer, KeyKind::kWgQuick, kList,
     "command run after down"},
    {KeyId::kSaveConfig, "SaveConfig", kIf, kNoPeer, KeyKind::kWgQuick, kOnce,
     "true: write the running config back on down"},
    {KeyId::kPrivateKeyFile, "PrivateKeyFile", kIf, kNoPeer, KeyKind::kTundra, kOnce,
     "file holding the private key (mode 0600 or stricter)"},
    {KeyId::kPresharedKeyFile, "PresharedKeyFile", kNoIf, kPeer, KeyKind::kTundra, kOnce,
     "file holding the preshared key (mode 0600 or stricter)"},
    {KeyId::kUser, "User", kIf, kNoPeer, KeyKind::kTundra, kOnce,
     "user (name or uid) the daemon runs as after setup"},
    {KeyId::kPeerUp, "PeerUp", kIf, kPeer, KeyKind::kTundra, kList,
     "command run when a peer comes up (%i, %k, %e)"},
    {KeyId::kPeerDown, "PeerDown", kIf, kPeer, KeyKind::kTundra, kList,
     "command run when a peer goes down (%i, %k, %e)"},
    {KeyId::kTransport, "Transport", kIf, kPeer, KeyKind::kTundra, kOnce,
     "udp, tcp or auto (docs/tcp-transport.md); in [Interface] the peers' default"},
    {KeyId::kTcpPort, "TcpPort", kIf, kNoPeer, KeyKind::kTundra, kOnce,
     "port of the TCP listener (default: ListenPort when Transport is tcp or auto)"},
    {KeyId::kMode, "Mode", kIf, kNoPeer, KeyKind::kTundra, kOnce,
     "tun (IP packets, the default) or tap (Ethernet frames, docs/l2.md)"},
    {KeyId::kSwitchMode, "SwitchMode", kIf, kNoPeer, KeyKind::kTundra, kOnce,
     "Mode = tap: switch (learn MACs, the default) or hub (flood every frame)"},
    {KeyId::kForward, "Forward", kIf, kNoPeer, KeyKind::kTundra, kOnce,
     "Mode = tap: relay frames between peers (yes or no, the default)"},
    {KeyId::kMacTableSize, "MACTableSize", kIf, kNoPeer, KeyKind::kTundra, kOnce,
     "Mode = tap: entries of the MAC table (16-1048576, default 8192)"},
    {KeyId::kMacExpiry, "MACExpiry", kIf, kNoPeer, KeyKind::kTundra, kOnce,
     "Mode = tap: seconds a learned MAC lives without traffic (10-86400, default 600)"},
    {KeyId::kAllowedMacs, "AllowedMACs", kNoIf, kPeer, KeyKind::kTundra, kList,
     "Mode = tap: MAC[/LEN] prefixes the peer may send frames from"},
    {KeyId::kSpeed, "Speed", kIf, kPeer, KeyKind::kTundra, kOnce,
     "shaping: IN:OUT (or one rate for both) in kbit/s, 0 = unlimited; in [Interface] the "
     "peers' default (docs/shaping.md)"},
    {KeyId::kCompression, "Compression", kIf, kPeer, KeyKind::kTundra, kOnce,
     "lz4, zstd[:LEVEL] (1-19) or none, only when both ends set it; in [Interface] the peers' "
     "default (docs/compression.md)"},
    {KeyId::kBurst, "Burst", kIf, kPeer, KeyKind::kTundra, kOnce,
     "shaping bucket size in bytes (default: 200 ms at the rate, at least 64 KiB)"},
    {KeyId::kWorkers, "Workers", kIf, kNoPeer, KeyKind::kUnsupported, kOnce,
     "number of data-path worker threads"},
};

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string_view SectionName(Section section) {
  switch (section) {
    case Section::kInterface:
      return "[Interface]";
    case Section::kPeer:
      return "[Peer]";
    case Section::kNone:
      break;
  }
  return "";
}

std::span<const KeySpec> AllKeys() { return kKeys; }

const KeySpec* FindKey(Section section, std::string_view name) {
  for (const KeySpec& k : kKeys) {
    const bool here =
        section == Section::kInterface ? k.in_interface : (section == Section::kPeer && k.in_peer);
    if (here && SameName(k.name, name)) return &k;
  }
  return nullptr;
}

const KeySpec* FindKeyAnywhere(std::string_view name) {
  for (const KeySpec& k : kKeys) {
    if (SameName(k.name, name)) return &k;
  }
  return nullptr;
}

const KeySpec& SpecOf(KeyId id) {
  for (const KeySpec& k : kKeys) {
    if (k.id == id) return k;
  }
  return kKeys[0];  // unreachable: every KeyId is in the table (keys_test checks)
}

}  // namespace tundra::config
