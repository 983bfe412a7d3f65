#include "tundra/tun/icmp.h"

#include <algorithm>
#include <cstring>

#include "tundra/base/ip_header.h"
#include "tundra/tun/vnet_hdr.h"

namespace tundra::tun {
namespace {

constexpr uint8_t kIcmpDestUnreachable = 3;
constexpr uint8_t kIcmpHostUnreachable = 1;
constexpr uint8_t kIcmpFragmentationNeeded = 4;
constexpr uint8_t kIcmpV6DestUnreachable = 1;
constexpr uint8_t kIcmpV6AddressUnreachable = 3;
constexpr uint8_t kIcmpV6PacketTooBig = 2;
constexpr size_t kMaxIcmpV4Error = 576;
constexpr size_t kIcmpHeaderSize = 8;  // type, code, checksum, 4 bytes the type defines
constexpr uint16_t kIpv4DontFragment = 0x4000;
constexpr uint16_t kIpv4FragmentOffset = 0x1fff;

// What the error says: type, code, and the header's last 4 bytes (unused, or the MTU).
struct Kind {
  uint8_t type;
  uint8_t code;
  uint32_t rest;
};

bool IsIcmpV4Error(uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

size_t BuildV4(ByteSpan p, MutableByteSpan out, Kind kind, bool need_df) {
  const size_t ihl = size_t(p[0] & 0x0f) * 4;
  const size_t total = ip::Ipv4TotalLength(p.data());
  if (ihl < ip::kIpv4HeaderSize || total < ihl || total > p.size()) return 0;
  const uint16_t fragment = LoadBe16(p.data() + ip::kIpv4Fragment);
  if ((fragment & kIpv4FragmentOffset) != 0) return 0;  // not the first fragment
  if (need_df && (fragment & kIpv4DontFragment) == 0) return 0;
  const uint8_t* src = p.data() + ip::kIpv4Source;
  const uint8_t* dst = p.data() + ip::kIpv4Destination;
  if (dst[0] >= 224 || (dst[0] == 255 && dst[1] == 255 && dst[2] == 255 && dst[3] == 255)) {
    return 0;  // multicast, reserved, limited broadcast
  }
  if (src[0] == 0 || src[0] == 127 || src[0] >= 224) return 0;
  if (p[ip::kIpv4Protocol] == ip::kProtoIcmp && total >= ihl + 1 && IsIcmpV4Error(p[ihl])) return 0;
  constexpr size_t kHeaders = ip::kIpv4HeaderSize + kIcmpHeaderSize;
  const size_t quoted = std::min(total, kMaxIcmpV4Error - kHeaders);
  const size_t len = kHeaders + quoted;
  uint8_t* o = out.data();
  std::memset(o, 0, kHeaders);
  o[0] = 0x45;
  o[1] = 0xc0;  // internetwork control, as Linux sends its ICMP errors
  StoreBe16(o + ip::kIpv4TotalLength, uint16_t(len));
  o[ip::kIpv4Ttl] = 64;
  o[ip::kIpv4Protocol] = ip::kProtoIcmp;
  std::memcpy(o + ip::kIpv4Source, dst, 4);
  std::memcpy(o + ip::kIpv4Destination, src, 4);
  StoreBe16(o + ip::kIpv4Checksum, Checksum(ByteSpan(o, ip::kIpv4HeaderSize)));
  uint8_t* icmp = o + ip::kIpv4HeaderSize;
  icmp[0] = kind.type;
  icmp[1] = kind.code;
  StoreBe32(icmp + 4, kind.rest);
  std::memcpy(o + kHeaders, p.data(), quoted);
  StoreBe16(icmp + 2, Checksum(ByteSpan(icmp, len - ip::kIpv4HeaderSize)));
  return len;
}

size_t BuildV6(ByteSpan p, MutableByteSpan out, Kind kind) {
  const size_t total = ip::Ipv6TotalLength(p.data());
  if (total > p.size()) return 0;
  const uint8_t* src = p.data() + ip::kIpv6Source;
  const uint8_t* dst = p.data() + ip::kIpv6Destination;
  static constexpr uint8_t kZero[16] = {};
  static constexpr uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  // Multicast destinations are never answered, not even with a packet too big (which RFC 4443
  // 2.4(e.3) would allow): the error would need a unicast source of our own.
  if (dst[0] == 0xff) return 0;
  if (src[0] == 0xff || std::memcmp(src, kZero, 16) == 0 || std::memcmp(src, kLoopback, 16) == 0) {
    return 0;
  }
  // An ICMPv6 error (type < 128) is never answered; extension headers are not walked, so a
  // packet whose first next-header is not ICMPv6 counts as a non-error.
  if (p[ip::kIpv6NextHeader] == ip::kProtoIcmpV6 && total > ip::kIpv6HeaderSize &&
      p[ip::kIpv6HeaderSize] < 128) {
    return 0;
  }
  constexpr size_t kHeaders = ip::kIpv6HeaderSize + kIcmpHeaderSize;
  const size_t quoted = std::min(total, kMaxIcmpError - kHeaders);
  const size_t len = kHeaders + quoted;
  uint8_t* o = out.data();
  std::memset(o, 0, kHeaders);
  o[0] = 0x60;
  StoreBe16(o + ip::kIpv6PayloadLength, uint16_t(len - ip::kIpv6HeaderSize));
  o[ip::kIpv6NextHeader] = ip::kProtoIcmpV6;
  o[ip::kIpv6HopLimit] = 64;
  std::memcpy(o + ip::kIpv6Source, dst, 16);
  std::memcpy(o + ip::kIpv6Destination, src, 16);
  uint8_t* icmp = o + ip::kIpv6HeaderSize;
  icmp[0] = kind.type;
  icmp[1] = kind.code;
  StoreBe32(icmp + 4, kind.rest);
  std::memcpy(o + kHeaders, p.data(), quoted);
  const uint64_t pseudo =
      PseudoHeaderSum(ByteSpan(o + ip::kIpv6Source, 16), ByteSpan(o + ip::kIpv6Destination, 16),
                      ip::kProtoIcmpV6, uint32_t(len - ip::kIpv6HeaderSize));
  StoreBe16(icmp + 2, Checksum(ByteSpan(icmp, len - ip::kIpv6HeaderSize), pseudo));
  return len;
}

}  // namespace

size_t BuildUnreachable(ByteSpan packet, MutableByteSpan out) {
  if (out.size() < kMaxIcmpError || packet.empty()) return 0;
  if (ip::IsIpv4(packet)) {
    return BuildV4(packet, out, {kIcmpDestUnreachable, kIcmpHostUnreachable, 0}, false);
  }
  if (ip::IsIpv6(packet)) {
    return BuildV6(packet, out, {kIcmpV6DestUnreachable, kIcmpV6AddressUnreachable, 0});
  }
  return 0;
}

size_t BuildTooBig(ByteSpan packet, size_t mtu, MutableByteSpan out) {
  if (out.size() < kMaxIcmpError || packet.empty() || mtu > 0xffff) return 0;
  if (ip::IsIpv4(packet)) {
    // RFC 1191: the next-hop MTU in the low 16 bits of the header's last word.
    return BuildV4(packet, out, {kIcmpDestUnreachable, kIcmpFragmentationNeeded, uint32_t(mtu)},
                   true);
  }
  if (ip::IsIpv6(packet)) return BuildV6(packet, out, {kIcmpV6PacketTooBig, 0, uint32_t(mtu)});
  return 0;
}

}  // namespace tundra::tun
