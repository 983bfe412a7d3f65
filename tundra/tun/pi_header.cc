#include "tundra/tun/pi_header.h"

#include <cstring>

#include "tundra/base/ip_header.h"

namespace tundra::tun {

PacketInfo DecodePi(const uint8_t* p) {
  PacketInfo pi;
  std::memcpy(&pi.flags, p, sizeof(pi.flags));  // __u16: host order
  pi.proto = LoadBe16(p + 2);                   // __be16
  return pi;
}

std::optional<PacketInfo> ParsePi(ByteSpan data) {
  if (data.size() < kPiHeaderSize) return std::nullopt;
  return DecodePi(data.data());
}

void EncodePi(const PacketInfo& pi, uint8_t* out) {
  std::memcpy(out, &pi.flags, sizeof(pi.flags));
  StoreBe16(out + 2, pi.proto);
}

uint16_t EtherTypeOfIpPacket(ByteSpan packet) {
  if (packet.empty()) return 0;
  switch (ip::Version(packet.data())) {
    case 4:
      return kEtherTypeIpv4;
    case 6:
      return kEtherTypeIpv6;
    default:
      return 0;
  }
}

uint16_t EtherTypeOfFrame(ByteSpan frame) {
  if (frame.size() < kEthernetHeaderSize) return 0;
  return LoadBe16(frame.data() + 12);
}

}  // namespace tundra::tun
