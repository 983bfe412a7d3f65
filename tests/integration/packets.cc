#include "packets.h"

#include <arpa/inet.h>

#include <cstring>

namespace tundra::testing {

std::vector<uint8_t> Ping4(const std::string& src, const std::string& dst, uint16_t seq,
                           size_t payload) {
  std::vector<uint8_t> p(20 + 8 + payload, 0);
  p[0] = 0x45;
  const uint16_t total = uint16_t(p.size());
  p[2] = uint8_t(total >> 8);
  p[3] = uint8_t(total);
  p[8] = 64;  // TTL
  p[9] = 1;   // ICMP
  inet_pton(AF_INET, src.c_str(), p.data() + 12);
  inet_pton(AF_INET, dst.c_str(), p.data() + 16);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (p[i] << 8) | p[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  p[10] = uint8_t(~sum >> 8);
  p[11] = uint8_t(~sum);
  p[20] = 8;  // echo request
  p[26] = uint8_t(seq >> 8);
  p[27] = uint8_t(seq);
  for (size_t i = 0; i < payload; ++i) p[28 + i] = uint8_t(seq + i);
  return p;
}

std::vector<uint8_t> Udp4(const std::string& src, uint16_t sport, const std::string& dst,
                          uint16_t dport, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> p = Ping4(src, dst, 0, payload.size());
  p[9] = 17;  // UDP
  p[10] = p[11] = 0;
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (p[i] << 8) | p[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  p[10] = uint8_t(~sum >> 8);
  p[11] = uint8_t(~sum);
  const uint16_t udp_len = uint16_t(8 + payload.size());
  const uint8_t udp[8] = {uint8_t(sport >> 8),
                          uint8_t(sport),
                          uint8_t(dport >> 8),
                          uint8_t(dport),
                          uint8_t(udp_len >> 8),
                          uint8_t(udp_len),
                          0,
                          0};
  std::memcpy(p.data() + 20, udp, 8);
  std::memcpy(p.data() + 28, payload.data(), payload.size());
  return p;
}

std::vector<uint8_t> Ping6(const std::string& src, const std::string& dst, uint16_t seq,
                           size_t payload) {
  std::vector<uint8_t> p(40 + 8 + payload, 0);
  p[0] = 0x60;
  const uint16_t len = uint16_t(8 + payload);
  p[4] = uint8_t(len >> 8);
  p[5] = uint8_t(len);
  p[6] = 58;  // ICMPv6
  p[7] = 64;
  inet_pton(AF_INET6, src.c_str(), p.data() + 8);
  inet_pton(AF_INET6, dst.c_str(), p.data() + 24);
  p[40] = 128;  // echo request
  p[46] = uint8_t(seq >> 8);
  p[47] = uint8_t(seq);
  for (size_t i = 0; i < payload; ++i) p[48 + i] = uint8_t(seq + i);
  return p;
}

}  // namespace tundra::testing
