// AllowedMACs (per peer, optional): the source MACs a peer may send from, the L2 counterpart
// of the allowed-IPs source check (docs/l2.md). Each entry is a MAC with an optional prefix
// length, like an AllowedIPs prefix:
//   52:54:00:12:34:56       that address (/48)
//   52:54:00:00:00:00/24    every address of the OUI 52:54:00
//   00:00:00:00:00:00/0     any address (the same as no AllowedMACs)
// The address's bits beyond the prefix must be zero (as `wg` requires of AllowedIPs host bits).
// Immutable once built; safe to read from any thread.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "tundra/base/result.h"
#include "tundra/l2/frame.h"

namespace tundra::l2 {

struct MacPrefix {
  MacAddress address;
  uint8_t length = 48;  // 0..48 leading bits
  uint64_t mask() const {
    return length == 0 ? 0 : (~uint64_t{0} << (48 - length)) & ((uint64_t{1} << 48) - 1);
  }
  bool Contains(MacAddress mac) const { return (mac.value() & mask()) == address.value(); }
  std::string ToString() const;  // "52:54:00:00:00:00/24", "52:54:00:12:34:56" for /48
  bool operator==(const MacPrefix&) const = default;
};

// "MAC" or "MAC/LEN"; the error names the text and what is wrong.
Result<MacPrefix> ParseMacPrefix(std::string_view text);

class AllowedMacs {
 public:
  // At most kMaxAllowedMacs entries (an error beyond); duplicates are kept once.
  Status Add(const MacPrefix& prefix);
  // A comma-separated list ("a, b/24"), as a config line holds it; all or nothing.
  Status AddList(std::string_view list);

  bool empty() const { return prefixes_.empty(); }
  size_t size() const { return prefixes_.size(); }
  const std::vector<MacPrefix>& prefixes() const { return prefixes_; }
  // Linear in size() (<= kMaxAllowedMacs): true when a prefix contains `mac`.
  bool Allows(MacAddress mac) const;

 private:
  std::vector<MacPrefix> prefixes_;
};

}  // namespace tundra::l2
