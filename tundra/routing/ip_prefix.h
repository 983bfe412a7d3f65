// IP address and prefix value types (IPv4 or IPv6), parsed from and printed as text.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "tundra/base/bytes.h"
#include "tundra/base/result.h"

namespace tundra::routing {

class IpAddress {
 public:
  IpAddress() = default;  // 0.0.0.0
  static IpAddress V4(const uint8_t* bytes4);
  static IpAddress V6(const uint8_t* bytes16);
  // Dotted quad or RFC 4291 text; errors name the text.
  static Result<IpAddress> Parse(std::string_view text);

  bool is_v4() const { return !v6_; }
  bool is_v6() const { return v6_; }
  int family() const;  // AF_INET or AF_INET6
  size_t size() const { return v6_ ? 16 : 4; }
  unsigned max_bits() const { return v6_ ? 128 : 32; }
  const uint8_t* data() const { return bytes_.data(); }
  ByteSpan bytes() const { return ByteSpan(bytes_.data(), size()); }
  std::string ToString() const;  // canonical (RFC 5952 for IPv6)

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> bytes_{};  // IPv4 uses the first 4
};

class IpPrefix {
 public:
  IpPrefix() = default;
  IpPrefix(const IpAddress& address, unsigned bits);
  // "a.b.c.d/n", "x::/n"; a bare address means a host prefix (/32, /128).
  static Result<IpPrefix> Parse(std::string_view text);

  const IpAddress& address() const { return address_; }
  unsigned bits() const { return bits_; }
  bool is_v4() const { return address_.is_v4(); }
  // The same prefix with host bits cleared.
  IpPrefix Masked() const;
  bool Contains(const IpAddress& a) const;
  std::string ToString() const;

  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
  friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;

 private:
  IpAddress address_;
  uint8_t bits_ = 0;
};

}  // namespace tundra::routing
