// Fuzz target: the TUN packet-information header (tundra/tun/pi_header.h). The input is what a
// read from a TUN without IFF_NO_PI returns: ParsePi agrees with DecodePi, Encode(Decode(x))
// is x, and the EtherType helpers follow the version nibble and the frame's bytes 12-13.
#include <cstring>

#include "tests/fuzz/fuzz_fixture.h"
#include "tundra/tun/pi_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tundra;
  using namespace tundra::tun;
  const ByteSpan in(data, size);
  const std::optional<PacketInfo> pi = ParsePi(in);
  TUNDRA_CHECK(pi.has_value() == (size >= kPiHeaderSize));
  if (pi) {
    TUNDRA_CHECK(*pi == DecodePi(data));
    uint8_t out[kPiHeaderSize];
    EncodePi(*pi, out);
    TUNDRA_CHECK(std::memcmp(out, data, kPiHeaderSize) == 0);
    TUNDRA_CHECK(pi->proto == uint16_t(data[2] << 8 | data[3]));  // big-endian on the wire
    PacketInfo flags_only{pi->flags, 0};
    EncodePi(flags_only, out);
    TUNDRA_CHECK(DecodePi(out) == flags_only);
  }
  const ByteSpan packet = pi ? in.subspan(kPiHeaderSize) : in;
  const uint16_t ip_type = EtherTypeOfIpPacket(packet);
  if (packet.empty()) {
    TUNDRA_CHECK(ip_type == 0);
  } else {
    const unsigned version = packet[0] >> 4;
    TUNDRA_CHECK(ip_type == (version == 4 ? kEtherTypeIpv4 : version == 6 ? kEtherTypeIpv6 : 0));
  }
  const uint16_t frame_type = EtherTypeOfFrame(packet);
  if (packet.size() < kEthernetHeaderSize) {
    TUNDRA_CHECK(frame_type == 0);
  } else {
    TUNDRA_CHECK(frame_type == uint16_t(packet[12] << 8 | packet[13]));
  }
  return 0;
}
