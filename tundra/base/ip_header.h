// IPv4 / IPv6 header layout (RFC 791, RFC 8200): the one place for field offsets, fixed
// header sizes and the protocol numbers that the TUN, routing and device layers read.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tundra/base/bytes.h"

namespace tundra::ip {

inline constexpr size_t kIpv4HeaderSize = 20;  // without options
inline constexpr size_t kIpv6HeaderSize = 40;  // without extension headers

// IPv4 field offsets.
inline constexpr size_t kIpv4TotalLength = 2;
inline constexpr size_t kIpv4Id = 4;
inline constexpr size_t kIpv4Fragment = 6;  // flags + fragment offset
inline constexpr size_t kIpv4Ttl = 8;
inline constexpr size_t kIpv4Protocol = 9;
inline constexpr size_t kIpv4Checksum = 10;
inline constexpr size_t kIpv4Source = 12;
inline constexpr size_t kIpv4Destination = 16;

// IPv6 field offsets.
inline constexpr size_t kIpv6PayloadLength = 4;
inline constexpr size_t kIpv6NextHeader = 6;
inline constexpr size_t kIpv6HopLimit = 7;
inline constexpr size_t kIpv6Source = 8;
inline constexpr size_t kIpv6Destination = 24;

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpV6 = 58;

inline unsigned Version(const uint8_t* p) { return p[0] >> 4; }

// True when `p` holds at least the fixed header of an IPv4 / IPv6 packet.
inline bool IsIpv4(ByteSpan p) { return p.size() >= kIpv4HeaderSize && Version(p.data()) == 4; }
inline bool IsIpv6(ByteSpan p) { return p.size() >= kIpv6HeaderSize && Version(p.data()) == 6; }

// The packet's destination / source address (4 or 16 bytes; `v6` says which), or null when
// `p` is not an IP packet with a whole fixed header.
inline const uint8_t* Address(ByteSpan p, size_t v4_offset, size_t v6_offset, bool& v6) {
  v6 = IsIpv6(p);
  if (v6) return p.data() + v6_offset;
  return IsIpv4(p) ? p.data() + v4_offset : nullptr;
}
inline const uint8_t* Destination(ByteSpan p, bool& v6) {
  return Address(p, kIpv4Destination, kIpv6Destination, v6);
}
inline const uint8_t* Source(ByteSpan p, bool& v6) {
  return Address(p, kIpv4Source, kIpv6Source, v6);
}

// Packet length as its header states it (IPv6: fixed header + payload length); call only on
// a buffer that IsIpv4 / IsIpv6 accepted.
inline size_t Ipv4TotalLength(const uint8_t* p) { return LoadBe16(p + kIpv4TotalLength); }
inline size_t Ipv6TotalLength(const uint8_t* p) {
  return kIpv6HeaderSize + LoadBe16(p + kIpv6PayloadLength);
}

// The UDP source and destination ports of an IPv4 packet (any header length, first fragment)
// or an IPv6 packet whose first next header is UDP; false when it is not such a packet.
inline bool UdpPorts(ByteSpan p, uint16_t& src, uint16_t& dst) {
  size_t l4 = 0;
  if (IsIpv4(p)) {
    if (p[kIpv4Protocol] != kProtoUdp || (LoadBe16(p.data() + kIpv4Fragment) & 0x1fff) != 0) {
      return false;
    }
    l4 = size_t(p[0] & 0x0f) * 4;
  } else if (IsIpv6(p)) {
    if (p[kIpv6NextHeader] != kProtoUdp) return false;
    l4 = kIpv6HeaderSize;
  } else {
    return false;
  }
  if (l4 < kIpv4HeaderSize || p.size() < l4 + 8) return false;
  src = LoadBe16(p.data() + l4);
  dst = LoadBe16(p.data() + l4 + 2);
  return true;
}

}  // namespace tundra::ip
