#include "tundra/device/icmp.h"

#include <algorithm>
#include <cstring>

#include "tundra/base/ip_header.h"
#include "tundra/tun/vnet_hdr.h"

namespace tundra::device {
namespace {

constexpr uint8_t kIcmpDestUnreachable = 3;
constexpr uint8_t kIcmpHostUnreachable = 1;
constexpr uint8_t kIcmpV6DestUnreachable = 1;
constexpr uint8_t kIcmpV6AddressUnreachable = 3;
constexpr size_t kMaxIcmpV4Error = 576;

bool IsIcmpV4Error(uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

size_t BuildV4(ByteSpan p, MutableByteSpan out) {
  const size_t ihl = size_t(p[0] & 0x0f) * 4;
  const size_t total = ip::Ipv4TotalLength(p.data());
  if (ihl < ip::kIpv4HeaderSize || total < ihl || total > p.size()) return 0;
  if ((LoadBe16(p.data() + ip::kIpv4Fragment) & 0x1fff) != 0) return 0;  // not the first fragment
  const uint8_t* src = p.data() + ip::kIpv4Source;
  const uint8_t* dst = p.data() + ip::kIpv4Destination;
  if (dst[0] >= 224 || (dst[0] == 255 && dst[1] == 255 && dst[2] == 255 && dst[3] == 255)) {
    return 0;  // multicast, reserved, limited broadcast
  }
  if (src[0] == 0 || src[0] == 127 || src[0] >= 224) return 0;
  if (p[ip::kIpv4Protocol] == ip::kProtoIcmp && total >= ihl + 1 && IsIcmpV4Error(p[ihl])) return 0;
  const size_t quoted = std::min(total, kMaxIcmpV4Error - 28);
  const size_t len = 28 + quoted;
  uint8_t* o = out.data();
  std::memset(o, 0, 28);
  o[0] = 0x45;
  o[1] = 0xc0;  // internetwork control, as Linux sends its ICMP errors
  StoreBe16(o + ip::kIpv4TotalLength, uint16_t(len));
  o[ip::kIpv4Ttl] = 64;
  o[ip::kIpv4Protocol] = ip::kProtoIcmp;
  std::memcpy(o + ip::kIpv4Source, dst, 4);
  std::memcpy(o + ip::kIpv4Destination, src, 4);
  StoreBe16(o + ip::kIpv4Checksum, tun::Checksum(ByteSpan(o, ip::kIpv4HeaderSize)));
  o[20] = kIcmpDestUnreachable;
  o[21] = kIcmpHostUnreachable;
  std::memcpy(o + 28, p.data(), quoted);
  StoreBe16(o + 22, tun::Checksum(ByteSpan(o + 20, len - 20)));
  return len;
}

size_t BuildV6(ByteSpan p, MutableByteSpan out) {
  const size_t total = ip::Ipv6TotalLength(p.data());
  if (total > p.size()) return 0;
  const uint8_t* src = p.data() + ip::kIpv6Source;
  const uint8_t* dst = p.data() + ip::kIpv6Destination;
  static constexpr uint8_t kZero[16] = {};
  static constexpr uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (dst[0] == 0xff) return 0;  // multicast
  if (src[0] == 0xff || std::memcmp(src, kZero, 16) == 0 || std::memcmp(src, kLoopback, 16) == 0) {
    return 0;
  }
  // An ICMPv6 error (type < 128) is never answered; extension headers are not walked, so a
  // packet whose first next-header is not ICMPv6 counts as a non-error.
  if (p[ip::kIpv6NextHeader] == ip::kProtoIcmpV6 && total >= 41 && p[40] < 128) return 0;
  const size_t quoted = std::min(total, kMaxIcmpError - 48);
  const size_t len = 48 + quoted;
  uint8_t* o = out.data();
  std::memset(o, 0, 48);
  o[0] = 0x60;
  StoreBe16(o + ip::kIpv6PayloadLength, uint16_t(len - ip::kIpv6HeaderSize));
  o[ip::kIpv6NextHeader] = ip::kProtoIcmpV6;
  o[ip::kIpv6HopLimit] = 64;
  std::memcpy(o + ip::kIpv6Source, dst, 16);
  std::memcpy(o + ip::kIpv6Destination, src, 16);
  o[40] = kIcmpV6DestUnreachable;
  o[41] = kIcmpV6AddressUnreachable;
  std::memcpy(o + 48, p.data(), quoted);
  const uint64_t pseudo = tun::PseudoHeaderSum(
      ByteSpan(o + ip::kIpv6Source, 16), ByteSpan(o + ip::kIpv6Destination, 16), ip::kProtoIcmpV6,
      uint32_t(len - ip::kIpv6HeaderSize));
  StoreBe16(o + 42, tun::Checksum(ByteSpan(o + 40, len - 40), pseudo));
  return len;
}

}  // namespace

size_t BuildUnreachable(ByteSpan packet, MutableByteSpan out) {
  if (out.size() < kMaxIcmpError || packet.empty()) return 0;
  if (ip::IsIpv4(packet)) return BuildV4(packet, out);
  if (ip::IsIpv6(packet)) return BuildV6(packet, out);
  return 0;
}

}  // namespace tundra::device
