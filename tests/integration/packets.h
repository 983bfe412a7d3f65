// Test packets: minimal IPv4/IPv6 ICMP echo requests with valid length fields.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tundra::testing {

// ICMP echo request src -> dst (dotted quads), `payload` bytes of data, identified by `seq`.
std::vector<uint8_t> Ping4(const std::string& src, const std::string& dst, uint16_t seq,
                           size_t payload = 56);
// IPv4 UDP datagram src:sport -> dst:dport carrying `payload` (checksum 0: none).
std::vector<uint8_t> Udp4(const std::string& src, uint16_t sport, const std::string& dst,
                          uint16_t dport, const std::vector<uint8_t>& payload);
// ICMPv6 echo request src -> dst.
std::vector<uint8_t> Ping6(const std::string& src, const std::string& dst, uint16_t seq,
                           size_t payload = 56);

}  // namespace tundra::testing
