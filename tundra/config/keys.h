// Every key a tundra config file may hold, in one table: the keys `wg setconf` reads, the keys
// wg-quick handles itself, tundra's own keys, and the keys later tundra features will read
// (known, so that a file written for a newer build gets "not supported by this build" rather
// than "unknown key"). docs/config.md documents the same table; a unit test keeps them equal.
#pragma once

#include <span>
#include <string_view>

namespace tundra::config {

enum class Section { kNone, kInterface, kPeer };

// "[Interface]", "[Peer]" ("" for kNone).
std::string_view SectionName(Section section);

enum class KeyId {
  // [Interface], read by `wg setconf`
  kPrivateKey,
  kListenPort,
  kFwMark,
  // [Peer], read by `wg setconf`
  kPublicKey,
  kPresharedKey,
  kAllowedIps,
  kEndpoint,
  kPersistentKeepalive,
  // [Interface], wg-quick's own
  kAddress,
  kDns,
  kMtu,
  kTable,
  kPreUp,
  kPostUp,
  kPreDown,
  kPostDown,
  kSaveConfig,
  // tundra's own, supported by this build
  kPrivateKeyFile,
  kPresharedKeyFile,
  kUser,
  kPeerUp,
  kPeerDown,
  kTransport,
  kTcpPort,
  kMode,
  kSwitchMode,
  kForward,
  kMacTableSize,
  kMacExpiry,
  kAllowedMacs,
  // tundra's own, for later features: refused as "not supported by this build"
  kSpeed,
  kCompression,
  kBurst,
  kWorkers,
};

enum class KeyKind {
  kWg,           // passed to `wg setconf` (kept by `tundra strip`)
  kWgQuick,      // handled by wg-quick / `tundra up` (dropped by strip)
  kTundra,       // tundra only, supported (dropped by strip; *KeyFile become *Key)
  kUnsupported,  // tundra only, not supported by this build: an error naming the key
};

struct KeySpec {
  KeyId id;
  std::string_view name;  // canonical spelling; matched case-insensitively, as wg-quick does
  bool in_interface;
  bool in_peer;
  KeyKind kind;
  bool repeats;  // may appear more than once in a section (lists); else a repeat is an error
  std::string_view summary;
};

std::span<const KeySpec> AllKeys();

// The spec of `name` (any case) in `section`, or nullptr.
const KeySpec* FindKey(Section section, std::string_view name);
// The spec of `name` in any section, or nullptr (to say "belongs in [Peer]").
const KeySpec* FindKeyAnywhere(std::string_view name);
const KeySpec& SpecOf(KeyId id);

}  // namespace tundra::config
