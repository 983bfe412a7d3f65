// The TCP transport's sans-IO decisions (docs/tcp-transport.md), each a small value type driven
// by the caller's clock so unit tests can replay them on a FakeClock:
//   ReconnectBackoff  when a dropped outbound connection is dialed again
//   AutoTransport     `Transport = auto`: which transport a handshake initiation takes
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "tundra/base/clock.h"
#include "tundra/transport/endpoint.h"

namespace tundra::transport {

// Reconnect delays: kBackoffFirst, doubling, at most kBackoffMax. Reset() after a connection
// carried a valid frame (a listener that accepts and drops at once keeps the delays growing).
inline constexpr Duration kBackoffFirst = std::chrono::milliseconds(250);
inline constexpr Duration kBackoffMax = std::chrono::seconds(16);

class ReconnectBackoff {
 public:
  // The delay before the next attempt, and the one after that doubled.
  Duration Next() {
    const Duration d = next_;
    next_ = std::min(next_ * 2, kBackoffMax);
    ++failures_;
    return d;
  }
  void Reset() {
    next_ = kBackoffFirst;
    failures_ = 0;
  }
  uint32_t failures() const { return failures_; }

 private:
  Duration next_ = kBackoffFirst;
  uint32_t failures_ = 0;
};

// How a peer's configured endpoint is reached.
enum class TransportMode : uint8_t { kUdp, kTcp, kAuto };
const char* TransportModeName(TransportMode m);  // "udp", "tcp", "auto"
bool ParseTransportMode(std::string_view text, TransportMode& out);

// `auto`: UDP first. kAutoFallbackAttempts initiations over UDP without any authenticated UDP
// packet from the peer in between move the peer to TCP; on TCP, one initiation every
// kAutoProbeInterval goes over UDP instead (the device also starts one when a probe is due and
// the peer has a session), and any authenticated packet that arrives over UDP moves the peer
// back to UDP.
inline constexpr uint32_t kAutoFallbackAttempts = 3;
inline constexpr Duration kAutoProbeInterval = std::chrono::seconds(20);

class AutoTransport {
 public:
  // The transport for an initiation sent now.
  Transport ForInitiation(TimePoint now) {
    if (state_ == Transport::kUdp) {
      if (udp_unanswered_ < kAutoFallbackAttempts) {
        ++udp_unanswered_;
        return Transport::kUdp;
      }
      state_ = Transport::kTcp;
      last_probe_ = now;
      return Transport::kTcp;
    }
    if (ProbeDue(now)) {
      last_probe_ = now;
      return Transport::kUdp;
    }
    return Transport::kTcp;
  }
  // An authenticated packet (handshake or data) arrived over `t`.
  void OnAuthenticated(Transport t) {
    if (t != Transport::kUdp) return;
    state_ = Transport::kUdp;
    udp_unanswered_ = 0;
  }
  bool ProbeDue(TimePoint now) const {
    return state_ == Transport::kTcp && now - last_probe_ >= kAutoProbeInterval;
  }
  Transport state() const { return state_; }
  uint32_t udp_unanswered() const { return udp_unanswered_; }
  void Reset() { *this = AutoTransport(); }

 private:
  Transport state_ = Transport::kUdp;
  uint32_t udp_unanswered_ = 0;
  TimePoint last_probe_{};
};

}  // namespace tundra::transport
